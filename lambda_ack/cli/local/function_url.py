"""A Function URL on loopback: an HTTP request becomes Lambda's payload 2.0 event, and the
handler's buffered answer becomes an HTTP response by Function URLs' rules.

The rules for the answer: a JSON object with `statusCode` is a response (`headers`, `cookies`,
`body`, `isBase64Encoded`); any other JSON value is a 200 `application/json` body of that value.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlsplit

_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


def event_from(method: str, target: str, headers, body: bytes, host: str) -> dict:
    """The event Lambda hands a function for this request, as a Function URL does."""
    url = urlsplit(target)
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items():
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:  # repeated headers are joined with commas, as Lambda does
            key = name.lower()
            lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    content_type = lowered.get("content-type", "")
    text = content_type.startswith(_TEXT_TYPES)
    now = time.time()
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path or "/",
        "rawQueryString": url.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "emulator",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": url.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body) and not text,
    }
    if cookies:
        event["cookies"] = cookies
    if url.query:
        from urllib.parse import parse_qsl

        params: dict[str, str] = {}
        for key, value in parse_qsl(url.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        event["body"] = body.decode("utf-8", "replace") if text else base64.b64encode(body).decode()
    return event


def http_answer(
    payload: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], list[str], bytes]:
    """(status, headers, cookies, body) for a buffered answer; an error is a 502, as on AWS."""
    if headers.get("X-Amz-Function-Error"):
        body = b'{"Message":"Internal Server Error"}'
        return 502, {"Content-Type": "application/json"}, [], body
    try:
        result = json.loads(payload)
    except ValueError:
        return (
            200,
            {"Content-Type": headers.get("Content-Type", "application/octet-stream")},
            [],
            payload,
        )
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, {"Content-Type": "application/json"}, [], payload
    answer_headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    answer_headers.setdefault("Content-Type", "application/json")
    cookies = [str(c) for c in result.get("cookies") or []]
    return int(result["statusCode"]), answer_headers, cookies, data
