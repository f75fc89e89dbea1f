"""HTTP requests as each of Lambda's front doors delivers them (payload 2.0 from a Function URL or
HTTP API, 1.0 from a REST API, ALB with and without multi-value headers), and the answers read
back the way that front door renders them to the client, so two adapters' answers compare as
the client would see them."""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

SHAPES = ("2.0", "1.0", "alb-multi", "alb")
SOURCE_IP = "203.0.113.7"


def event(
    shape: str,
    method: str,
    path: str,
    query: list[tuple[str, str]] = (),
    headers: list[tuple[str, str]] = (),
    body: bytes = b"",
) -> dict:
    """`path` and `query` as the app should see them (decoded); encoded here as the front door
    would receive them from a client."""
    raw_path = quote(path, safe="/")
    given = {name for name, _ in headers}
    defaults = [
        ("host", "app.example.com"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", SOURCE_IP),  # every front door adds it
    ]
    headers = [*(h for h in defaults if h[0] not in given), *headers]
    text = _is_text(body)
    payload = {
        "body": body.decode() if text else base64.b64encode(body).decode(),
        "isBase64Encoded": not text,
    }
    if shape == "2.0":
        joined: dict[str, str] = {}
        cookies = []
        for name, value in headers:
            if name == "cookie":
                cookies += value.split("; ")
            else:
                joined[name] = f"{joined[name]},{value}" if name in joined else value
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": urlencode(query, quote_via=quote),
            "headers": joined,
            **({"cookies": cookies} if cookies else {}),
            "requestContext": {
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": SOURCE_IP,
                },
                "stage": "$default",
            },
            **payload,
        }
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    if shape == "1.0":
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {n: v[-1] for n, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "requestContext": {
                "identity": {"sourceIp": SOURCE_IP},
                "stage": "prod",
                "path": "/prod" + path,
            },
            **payload,
        }
    # ALB hands over the path and the query as the client sent them, still encoded.
    encoded = {quote(n): [quote(v) for v in values] for n, values in multi_query.items()}
    alb = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:tg"}},
        "httpMethod": method,
        "path": raw_path,
        **payload,
    }
    if shape == "alb-multi":
        alb["multiValueHeaders"] = multi_headers
        alb["multiValueQueryStringParameters"] = encoded
    else:
        alb["headers"] = {name: values[-1] for name, values in multi_headers.items()}
        alb["queryStringParameters"] = {name: values[-1] for name, values in encoded.items()}
    return alb


def seen_by_client(shape: str, answer: dict) -> dict:
    """What the client gets: the status, each header (names lower-cased, one entry per value,
    `Set-Cookie` from 2.0's `cookies`), the body's bytes."""
    headers: list[tuple[str, str]] = []
    for name, value in (answer.get("headers") or {}).items():
        headers.append((name.lower(), value))
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers += [(name.lower(), value) for value in values]
    if shape == "2.0":
        headers += [("set-cookie", cookie) for cookie in answer.get("cookies") or ()]
    # `Allow` lists a set of methods, in an order that differs from one process to the next.
    headers = [(n, ", ".join(sorted(v.split(", "))) if n == "allow" else v) for n, v in headers]
    body = answer.get("body") or ""
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    return {"status": answer["statusCode"], "headers": sorted(headers), "body": raw}


def _is_text(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
