"""The two DynamoDB calls the duplicate guard makes, as signed JSON POSTs: no SDK.

boto3 costs a function a few hundred milliseconds to import and make a client, which a cold
start's first request would wait for, and 17 MB in its zip; the guard needs `PutItem` and
`DeleteItem` only. This client signs each request with Signature Version 4 from the credentials
Lambda gives the function (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`),
(or, where Lambda gives the container credentials endpoint instead, as it does with SnapStart,
`AWS_CONTAINER_CREDENTIALS_FULL_URI`, what that endpoint answers: `Credentials`), sends it on one
kept-alive HTTPS connection to the region's endpoint (or `AWS_ENDPOINT_URL_DYNAMODB`
/ `AWS_ENDPOINT_URL`, as the SDKs read them), and raises `DynamoDBError` with the service's error
code. The signature is checked against botocore's own signer in the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from urllib.parse import urlsplit

SERVICE = "dynamodb"
TARGET = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"


# The code of a call whose socket timed out: no answer in time, as a caller that stopped waiting.
TIMED_OUT = "TimedOut"


class DynamoDBError(Exception):
    """The service refused the call; `code` is its error type (`ConditionalCheckFailedException`),
    `TIMED_OUT`, or the kind of failure when no answer came."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class DynamoDB:
    def __init__(self, timeout_s: float, env: os._Environ[str] | dict[str, str] = os.environ):
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = (
            env.get("AWS_ENDPOINT_URL_DYNAMODB")
            or env.get("AWS_ENDPOINT_URL")
            or f"https://dynamodb.{self.region}.amazonaws.com"
        )
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.netloc
        self._timeout_s = timeout_s
        self._credentials = Credentials(env)
        self._conn = None

    def call(self, operation: str, request: dict) -> dict:
        body = json.dumps(request).encode()
        try:
            credentials = self._credentials.get(self._timeout_s)
            headers = sign(operation, body, self._host, self.region, credentials, time.gmtime())
            conn = self._connection()
            conn.request("POST", "/", body, headers)
            answer = conn.getresponse()
            data = answer.read()
        except Exception as e:  # refused, reset, timed out, a broken answer: reconnect next time
            self._close()
            code = TIMED_OUT if isinstance(e, TimeoutError) else type(e).__name__
            raise DynamoDBError(code, str(e)) from None
        if answer.status == 200:
            return json.loads(data or b"{}")
        try:
            error = json.loads(data)
        except ValueError:
            error = {}
        code = str(error.get("__type", f"HTTP{answer.status}")).rsplit("#", 1)[-1]
        raise DynamoDBError(code, str(error.get("message") or error.get("Message") or ""))

    def _connection(self):
        if self._conn is None:
            import http.client

            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, timeout=self._timeout_s)
            else:
                self._conn = http.client.HTTPConnection(self._host, timeout=self._timeout_s)
        return self._conn

    def reconnect(self) -> None:
        """The next call opens a new connection and fetches credentials again (after a
        SnapStart restore: those of the snapshot's environment are not this one's)."""
        self._close()
        self._credentials.forget()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# Container credentials are fetched again this long before they expire.
_REFRESH_BEFORE_S = 300


class Credentials:
    """(access key, secret key, session token) for signing: the variables Lambda sets, or, when
    it gives `AWS_CONTAINER_CREDENTIALS_FULL_URI` instead (SnapStart functions), what that
    endpoint answers, with the token of `AWS_CONTAINER_AUTHORIZATION_TOKEN` (or of the file
    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` names), kept until shortly before they expire."""

    def __init__(self, env: os._Environ[str] | dict[str, str]) -> None:
        self._env = env
        self._fetched: tuple[str, str, str | None] | None = None
        self._refresh_at = 0.0

    def get(self, timeout_s: float) -> tuple[str, str, str | None]:
        env = self._env
        uri = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        if env.get("AWS_ACCESS_KEY_ID") or not uri:
            return (
                env.get("AWS_ACCESS_KEY_ID", ""),
                env.get("AWS_SECRET_ACCESS_KEY", ""),
                env.get("AWS_SESSION_TOKEN"),
            )
        if self._fetched is None or time.time() >= self._refresh_at:
            self._fetched, expires = _fetch_container_credentials(uri, env, timeout_s)
            self._refresh_at = expires - _REFRESH_BEFORE_S
        return self._fetched

    def forget(self) -> None:
        self._fetched = None


def _fetch_container_credentials(uri: str, env, timeout_s: float):
    """((key, secret, token), when they expire, as a Unix time) from the endpoint."""
    import datetime
    import http.client

    token = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if not token and token_file:
        with open(token_file) as f:
            token = f.read().strip()
    parts = urlsplit(uri)
    made = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = made(parts.netloc, timeout=timeout_s)
    try:
        conn.request("GET", parts.path or "/", headers={"Authorization": token or ""})
        answer = conn.getresponse()
        data = answer.read()
    finally:
        conn.close()
    if answer.status != 200:
        raise OSError(f"the container credentials endpoint answered {answer.status}")
    fields = json.loads(data)
    expiration = fields.get("Expiration")
    expires = (
        datetime.datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
        if expiration
        else time.time() + 2 * _REFRESH_BEFORE_S
    )
    return (fields["AccessKeyId"], fields["SecretAccessKey"], fields.get("Token")), expires


def sign(
    operation: str,
    body: bytes,
    host: str,
    region: str,
    credentials: tuple[str, str, str | None],
    now: time.struct_time,
) -> dict[str, str]:
    """The request's headers, signed (Signature Version 4) with `credentials`."""
    access_key, secret_key, token = credentials
    stamp = time.strftime("%Y%m%dT%H%M%SZ", now)
    day = stamp[:8]
    headers = {
        "content-type": CONTENT_TYPE,
        "host": host,
        "x-amz-date": stamp,
        "x-amz-target": TARGET + operation,
    }
    if token:
        headers["x-amz-security-token"] = token
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{name}:{headers[name].strip()}\n" for name in names),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    del headers["host"]  # http.client sends it, as the value signed
    return headers
