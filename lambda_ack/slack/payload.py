"""What a verified Slack request asks for: a slash command, an Events API callback, an interaction.

Slack sends slash commands and interactions as `application/x-www-form-urlencoded` (an
interaction is one field, `payload`, holding JSON) and Events API requests as JSON. Anything else,
or a body that lacks what its kind needs, raises `BadRequest`, and nothing else is raised: the
message is meant for a 400 answer, so it names the problem without echoing the body.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from lambda_ack.slack.dedupe import key_of
from lambda_ack.web.http_event import Request

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class BadRequest(ValueError):
    """The request is not a Slack request this reader understands; the message says why."""


class SlackRequest:
    """A verified request and what it asks for.

    `kind`: "command", "event", "interaction", "url_verification", "ssl_check" or "other" (an
    Events API envelope of another type). `body`: the form fields of a command, the JSON envelope
    of an event, the decoded `payload` of an interaction. `route`: the command name, the event
    type, the first action_id of a `block_actions` (or the interaction's type), else "".
    `dedupe_key`: "event:<event_id>", or "body:<SHA-256 of the raw body>".
    """

    __slots__ = ("kind", "body", "route", "dedupe_key", "http")

    def __init__(self, kind: str, body: dict, route: str, dedupe_key: str, http: Request) -> None:
        self.kind = kind
        self.body = body
        self.route = route
        self.dedupe_key = dedupe_key
        self.http = http

    @property
    def retry_num(self) -> str | None:
        """X-Slack-Retry-Num when Slack says this is a retry of an earlier delivery."""
        return self.http.headers.get("x-slack-retry-num")


def parse(request: Request) -> SlackRequest:
    """The Slack request in `request` (already verified); `BadRequest` if it is not one.

    How the body is read is decided by the body itself (JSON when it starts with `{`, as Bolt
    decides, or with `[` or `"`, which no urlencoded form starts with), never by Content-Type:
    the signature covers the bytes, not the headers, so a captured request replayed with another
    content type must still read as the same request and get the same duplicate key. A content
    type that is neither form nor JSON is refused."""
    if request.content_type not in (FORM, JSON):
        shown = request.content_type or "none"
        raise BadRequest(f"expected a form or JSON body, got content type {shown}")
    if request.body.lstrip()[:1] in (b"{", b"[", b'"'):
        kind, body, route, event_id = _events_api(request.body)
        return SlackRequest(kind, body, route, key_of(event_id, request.body), request)
    kind, body, route = _form(request.body)
    return SlackRequest(kind, body, route, key_of(None, request.body), request)


def _form(raw: bytes) -> tuple[str, dict, str]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the form body is not valid urlencoded UTF-8") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadRequest(f"form field {name!r} appears more than once")
        fields[name] = value
    if "payload" in fields:
        return _interaction(fields["payload"])
    if fields.get("ssl_check") == "1":
        return "ssl_check", fields, ""
    command = fields.get("command")
    if not command:
        raise BadRequest("form body without command or payload")
    return "command", fields, command


def _interaction(text: str) -> tuple[str, dict, str]:
    payload = _json_object(text.encode(), "payload")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest("payload has no type")
    if kind != "block_actions":
        return "interaction", payload, kind
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadRequest("block_actions payload without actions")
    action_id = actions[0].get("action_id")
    if not isinstance(action_id, str):
        raise BadRequest("block_actions payload: action without action_id")
    return "interaction", payload, action_id


def _events_api(raw: bytes) -> tuple[str, dict, str, str | None]:
    envelope = _json_object(raw, "body")
    kind = envelope.get("type")
    if kind == "url_verification":
        if not isinstance(envelope.get("challenge"), str):
            raise BadRequest("url_verification without a challenge")
        return "url_verification", envelope, "", None
    if kind != "event_callback":
        if not isinstance(kind, str):
            raise BadRequest("JSON body without a type")
        return "other", envelope, kind, None
    event = envelope.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadRequest("event_callback without an event type")
    event_id = envelope.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise BadRequest("event_id is not a string")
    return "event", envelope, event["type"], event_id


def _json_object(raw: bytes, what: str) -> dict:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what} is not a JSON object")
    return value
