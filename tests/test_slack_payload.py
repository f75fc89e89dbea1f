"""lambda_ack.slack.payload: what a Slack request asks for, or a clear BadRequest saying why not."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_support import FORM, JSON, action_body, command_body, json_values, mention_body

from lambda_ack.slack.payload import BadRequest, SlackRequest, parse
from lambda_ack.web.http_event import Headers, Request


def request(body: bytes, content_type: str | None, extra: list[tuple[str, str]] = ()) -> Request:
    headers = [("Content-Type", content_type)] if content_type else []
    return Request("POST", "/", Headers(headers + list(extra)), body)


def test_slash_command():
    body = command_body("report", "http://127.0.0.1:1/r")
    slack = parse(request(body, FORM + "; charset=utf-8"))
    assert (slack.kind, slack.route) == ("command", "/start-process")
    assert slack.body["text"] == "report" and slack.dedupe_key.startswith("body:")


def test_event_callback_is_keyed_by_event_id():
    slack = parse(request(mention_body("Ev1"), JSON, [("X-Slack-Retry-Num", "2")]))
    assert (slack.kind, slack.route, slack.dedupe_key) == ("event", "app_mention", "event:Ev1")
    assert slack.body["event"]["channel"] == "C0TEST" and slack.retry_num == "2"


def test_block_actions_route_by_action_id_and_other_interactions_by_type():
    slack = parse(request(action_body("http://127.0.0.1:1/r", "approve"), FORM))
    assert (slack.kind, slack.route) == ("interaction", "approve")
    view = urlencode({"payload": json.dumps({"type": "view_submission", "view": {}})}).encode()
    assert parse(request(view, FORM)).route == "view_submission"


def test_url_verification_ssl_check_and_other_envelopes():
    challenge = json.dumps({"type": "url_verification", "challenge": "c1"}).encode()
    assert parse(request(challenge, JSON)).kind == "url_verification"
    assert parse(request(b"ssl_check=1&token=x", FORM)).kind == "ssl_check"
    limited = parse(request(b'{"type": "app_rate_limited"}', JSON))
    assert (limited.kind, limited.route) == ("other", "app_rate_limited")


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"hello", "text/plain", "expected a form or JSON body, got content type text/plain"),
        (b"text=x", None, "got content type none"),
        (b"team_id=T1&text=x", FORM, "without command or payload"),
        (b"command=&text=x", FORM, "without command or payload"),
        (b"command=%2Fa&command=%2Fb", FORM, "'command' appears more than once"),
        (b"command=%2Fa&\xff=1", FORM, "not valid urlencoded UTF-8"),
        (b"command", FORM, "not valid urlencoded"),
        (b"payload=%7Bnot+json", FORM, "payload is not valid JSON"),
        (b"payload=%5B1%5D", FORM, "payload is not a JSON object"),
        (b"payload=%7B%7D", FORM, "payload has no type"),
        (b'payload={"type":"block_actions"}', FORM, "without actions"),
        (b'payload={"type":"block_actions","actions":[{}]}', FORM, "without action_id"),
        (b"{", JSON, "body is not valid JSON"),
        (b"[" * 100_000, JSON, "body is not valid JSON"),
        (b'"text"', JSON, "body is not a JSON object"),
        (b"{}", JSON, "JSON body without a type"),
        (b'{"type": "url_verification"}', JSON, "without a challenge"),
        (b'{"type": "event_callback", "event": {}}', JSON, "without an event type"),
        (b'{"type": "event_callback", "event": {"type": "x"}, "event_id": 1}', JSON, "event_id"),
    ],
)
def test_malformed_requests_raise_bad_request(body, content_type, reason):
    with pytest.raises(BadRequest, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse(request(body, content_type))


def parse_or_bad_request(req: Request) -> None:
    try:
        slack = parse(req)
    except BadRequest:
        return
    assert isinstance(slack, SlackRequest) and isinstance(slack.body, dict)


keys = st.sampled_from(["type", "event", "event_id", "challenge", "actions", "action_id", "x"])
slackish = st.recursive(
    json_values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
content_types = st.sampled_from([FORM, JSON, "text/plain", "", "APPLICATION/JSON; charset=x"])


@settings(max_examples=500)
@given(body=st.binary(max_size=200), content_type=content_types)
def test_reader_on_any_bytes(body, content_type):
    parse_or_bad_request(request(body, content_type))


@settings(max_examples=500)
@given(value=slackish, as_payload=st.booleans(), fields=st.dictionaries(keys, st.text(max_size=8)))
def test_reader_on_slack_shaped_json(value, as_payload, fields):
    text = json.dumps(value)
    if as_payload:
        parse_or_bad_request(request(urlencode({**fields, "payload": text}).encode(), FORM))
    else:
        parse_or_bad_request(request(text.encode(), JSON))
    parse_or_bad_request(request(urlencode(fields).encode(), FORM))
