"""SlackApp in-process: its configuration rule, routing, answers and the at-most-once guard.

What happens after the acknowledgement (deferred follow-ups) is shown end to end through
`./bootstrap` in test_slack_e2e.py; here the listeners only record what they were given.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_support import (
    FORM,
    JSON,
    command_body,
    json_values,
    lambda_body,
    mention_body,
    signed_event,
)

from lambda_ack.cli.local.slack_request import SIGNING_SECRET
from lambda_ack.slack import ConfigurationError, SeenRequests, SlackApp
from lambda_ack.web.http_event import Response


def make_app(calls: list) -> SlackApp:
    app = SlackApp(SIGNING_SECRET)

    @app.command("/start-process")
    def command(body):
        calls.append(body)
        return {"text": "ok"}

    @app.event("app_mention")
    def mention(event):
        calls.append(event)

    @app.command("/teapot")
    def teapot(body):
        return Response(418, "short and stout")

    return app


@pytest.fixture
def calls() -> list:
    return []


@pytest.fixture
def app(calls) -> SlackApp:
    return make_app(calls)


def test_no_signing_secret_no_app(monkeypatch):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET is not set"):
        SlackApp()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    with pytest.raises(ConfigurationError):
        SlackApp()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    assert SlackApp().handler(signed_event(b"ssl_check=1", FORM))["statusCode"] == 200


@pytest.mark.parametrize("shape", ["1.0", "2.0"])
def test_a_command_reaches_its_listener_and_its_result_is_the_answer(app, calls, shape):
    answer = app.handler(signed_event(command_body("t1", "http://r"), FORM, shape=shape))
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == "application/json"
    assert json.loads(lambda_body(answer)) == {"text": "ok"}
    assert calls[0]["text"] == "t1"


def test_a_listener_may_choose_status_and_headers(app):
    answer = app.handler(signed_event(command_body("", "http://r", "/teapot"), FORM))
    assert (answer["statusCode"], answer["body"]) == (418, "short and stout")


def test_unrouted_requests_are_acknowledged(app, calls):
    unknown = app.handler(signed_event(command_body("x", "http://r", "/nope"), FORM))
    assert unknown["statusCode"] == 200 and "no handler for /nope" in unknown["body"]
    other_event = mention_body("Ev9").replace(b'"app_mention"', b'"reaction_added"')
    assert app.handler(signed_event(other_event, JSON))["body"] == ""
    assert app.handler(signed_event(b'{"type": "app_rate_limited"}', JSON))["statusCode"] == 200
    assert calls == []


def test_a_refused_request_reaches_no_listener(app, calls):
    forged = app.handler(signed_event(mention_body("Ev1"), JSON, secret="forged-secret"))
    assert forged["statusCode"] == 401 and forged["headers"]["x-slack-no-retry"] == "1"
    assert forged["body"] == "invalid Slack request: signature mismatch"
    bad = app.handler(signed_event(b"{}", JSON))
    assert bad["statusCode"] == 400 and bad["body"] == "bad Slack request: JSON body without a type"
    assert app.handler({"direct": "invoke"})["statusCode"] == 400
    assert calls == []


def test_each_event_id_and_each_body_is_handled_once(app, calls):
    first = app.handler(signed_event(mention_body("Ev1"), JSON))
    retry = app.handler(signed_event(mention_body("Ev1"), JSON, extra=[("X-Slack-Retry-Num", "1")]))
    same_id = app.handler(signed_event(mention_body("Ev1", text="other body"), JSON))
    other = app.handler(signed_event(mention_body("Ev2"), JSON))
    command = signed_event(command_body("t", "http://r"), FORM)
    replayed = [app.handler(command), app.handler(command)]

    assert [a["statusCode"] for a in (first, retry, same_id, other, *replayed)] == [200] * 6
    assert retry["headers"]["x-slack-no-retry"] == "1" and retry["body"] == ""
    assert [c.get("text") for c in calls] == ["<@B0BOT> hello", "<@B0BOT> hello", "t"]


def test_the_same_signed_bytes_under_another_content_type_are_the_same_request(app, calls):
    """Content-Type is not signed: a captured event replayed as a form (or a command as JSON)
    within the 5 minutes must read as what was signed, and be caught as a duplicate."""
    event = mention_body("Ev9")
    first = app.handler(signed_event(event, JSON))
    replay = app.handler(signed_event(event, FORM))
    command = command_body("once", "http://r")
    as_form = app.handler(signed_event(command, FORM))
    as_json = app.handler(signed_event(command, JSON))

    assert [a["statusCode"] for a in (first, replay, as_form, as_json)] == [200] * 4
    assert [c.get("text") for c in calls] == ["<@B0BOT> hello", "once"]


def test_slack_checks_are_answered_every_time(app):
    challenge = json.dumps({"type": "url_verification", "challenge": "c-1"}).encode()
    for _ in range(2):
        answer = app.handler(signed_event(challenge, JSON))
        assert json.loads(lambda_body(answer)) == {"challenge": "c-1"}


def test_a_failed_listener_leaves_its_retry_to_be_handled(calls):
    app = SlackApp(SIGNING_SECRET)
    outcomes = iter([RuntimeError("first delivery fails"), None])

    @app.event("app_mention")
    def mention(event):
        calls.append(event)
        if failure := next(outcomes):
            raise failure

    with pytest.raises(RuntimeError):
        app.handler(signed_event(mention_body("Ev1"), JSON))
    app.handler(signed_event(mention_body("Ev1"), JSON, extra=[("X-Slack-Retry-Num", "1")]))
    assert len(calls) == 2


def test_the_guard_forgets_the_oldest_keys_past_its_limit():
    seen = SeenRequests(limit=2)
    assert seen.claim("a") and seen.claim("b") and not seen.claim("a")
    assert seen.claim("c")  # "a" is forgotten now
    assert seen.claim("a") and not seen.claim("c")


@settings(max_examples=200)
@given(event=json_values, body=st.binary(max_size=100), content_type=st.sampled_from([FORM, JSON]))
def test_the_handler_answers_anything_with_an_http_status(event, body, content_type):
    app = make_app([])
    for candidate in (event, signed_event(body, content_type, encode=True)):
        answer = app.handler(candidate)
        assert answer["statusCode"] in (200, 400, 401), answer
