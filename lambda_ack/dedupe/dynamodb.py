"""The two DynamoDB calls the duplicate guard makes, as signed JSON POSTs: no SDK.

boto3 costs a function a few hundred milliseconds to import and make a client, which a cold
start's first request would wait for, and 17 MB in its zip; the guard needs `PutItem` and
`DeleteItem` only. This client signs each request with Signature Version 4 from the credentials
Lambda gives the function (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`),
sends it on one kept-alive HTTPS connection to the region's endpoint (or `AWS_ENDPOINT_URL_DYNAMODB`
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
        self._env = env
        self._conn = None

    def call(self, operation: str, request: dict) -> dict:
        body = json.dumps(request).encode()
        headers = sign(operation, body, self._host, self.region, self._env, time.gmtime())
        try:
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
        """The next call opens a new connection (after a SnapStart restore)."""
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def sign(
    operation: str,
    body: bytes,
    host: str,
    region: str,
    env: os._Environ[str] | dict[str, str],
    now: time.struct_time,
) -> dict[str, str]:
    """The request's headers, signed (Signature Version 4) with the environment's credentials."""
    access_key = env.get("AWS_ACCESS_KEY_ID", "")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY", "")
    token = env.get("AWS_SESSION_TOKEN")
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
