"""Slack requests as Lambda delivers them, for the tests: signed bodies in every HTTP event shape.

Signatures come from `devtools.demo.sign` with the demo's secret, the same signer the demo uses.
Headers are given as (name, value) pairs so a test can send one twice or in any case; each shape
then carries them as Lambda would: format 2.0 lower-cases names and joins repeats with commas,
format 1.0 keeps names as sent, with every value in `multiValueHeaders`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlencode

from hypothesis import strategies as st

from lambda_ack.cli.local.slack_request import SIGNING_SECRET, sign

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
Pairs = list[tuple[str, str]]

# Any JSON value, small: what the property tests feed the parsers.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def signature_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> Pairs:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return [("X-Slack-Request-Timestamp", stamp), ("X-Slack-Signature", sign(secret, stamp, body))]


def http_event(
    body: bytes,
    headers: Pairs,
    shape: str = "2.0",
    encode: bool | None = None,
    path: str = "/slack/events",
    query: str = "",
) -> dict:
    """A Function URL / HTTP API (`"2.0"`) or REST API (`"1.0"`) event. `encode` (base64) defaults
    to what Lambda does: 2.0 encodes form bodies, 1.0 encodes nothing."""
    if encode is None:
        encode = shape == "2.0" and any(v == FORM for _, v in headers)
    text = base64.b64encode(body).decode() if encode else body.decode("utf-8")
    if shape == "2.0":
        joined: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": joined,
            "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default"},
            "body": text,
            "isBase64Encoded": encode,
        }
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        multi.setdefault(name, []).append(value)
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {name: values[-1] for name, values in multi.items()},
        "multiValueHeaders": multi,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"stage": "prod", "httpMethod": "POST"},
        "body": text,
        "isBase64Encoded": encode,
    }


def signed_event(
    body: bytes,
    content_type: str,
    *,
    shape: str = "2.0",
    encode: bool | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    extra: Pairs = (),
) -> dict:
    headers = [("Content-Type", content_type), *signature_headers(body, secret, timestamp)]
    return http_event(body, headers + list(extra), shape, encode)


def command_body(text: str, response_url: str, command: str = "/start-process") -> bytes:
    """A slash command's form, with a fresh trigger_id as Slack gives each one."""
    fields = {
        "team_id": "T0TEST",
        "channel_id": "C0TEST",
        "user_id": "U0TEST",
        "user_name": "tester",
        "command": command,
        "text": text,
        "response_url": response_url,
        "trigger_id": uuid.uuid4().hex,
        "api_app_id": "A0TEST",
    }
    return urlencode(fields).encode()


def mention_body(
    event_id: str, text: str = "<@B0BOT> hello", thread_ts: str | None = None
) -> bytes:
    event = {"type": "app_mention", "user": "U0TEST", "text": text, "channel": "C0TEST"}
    event["ts"] = "1700000000.000100"
    if thread_ts:
        event["thread_ts"] = thread_ts
    envelope = {
        "type": "event_callback",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "event_id": event_id,
        "event_time": 1700000000,
        "event": event,
    }
    return json.dumps(envelope).encode()


def action_body(response_url: str, action_id: str = "mark_reviewed", value: str = "x") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0TEST"},
        "trigger_id": uuid.uuid4().hex,
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "value": value}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def lambda_body(result: dict) -> bytes:
    """The HTTP body inside a Lambda HTTP response dict."""
    body = result.get("body") or ""
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
