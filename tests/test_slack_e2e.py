"""The Slack example end to end: signed requests through `./bootstrap` on the local emulator.

One runtime serves the module's tests, as one Lambda environment serves many requests (which is
also what the at-most-once guard needs). A loopback server stands in for Slack (every
`response_url` and the Web API at SLACK_API_URL) and for the status service the example's work
asks (STATUS_URL); each test uses its own paths there. Whether deferred work ran is read from the
runtime's own line for the invocation (`callbacks_run=N`), after `wait_idle`.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from slack_support import (
    FORM,
    JSON,
    action_body,
    command_body,
    http_event,
    lambda_body,
    mention_body,
    signature_headers,
    signed_event,
)

from devtools.demo import ROOT
from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.slack_request import SIGNING_SECRET, slash_command_event

HANDLER = "handler_example/app.handler"
TOKEN = "xoxb-test-token-not-a-real-one"


def app_env(slack: LoopbackServer, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": f"{slack.url}/api/",
        "STATUS_URL": f"{slack.url}/status",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
    }
    return env | overrides


@pytest.fixture(scope="module")
def slack() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="module")
def function(slack) -> Iterator[Emulator]:
    with Emulator(HANDLER, ROOT, env=app_env(slack), function_timeout_s=20) as emu:
        yield emu


def call(function: Emulator, event: object) -> dict:
    """The Lambda HTTP answer the Function URL would turn into Slack's response."""
    result = function.invoke(event, timeout=30)
    assert result.status == 200 and result.function_error is None, result.body
    return result.json()


def callbacks_run(function: Emulator) -> int:
    """How many deferred callbacks the last invocation ran, from the runtime's own log line."""
    function.wait_idle()
    request_id = function.timelines[-1].request_id
    line = re.search(rf"{request_id}\tinvocation done: .* callbacks_run=(\d+)", function.output)
    assert line, function.output[-2000:]
    return int(line.group(1))


def fresh_path(kind: str) -> str:
    return f"/{kind}/{uuid.uuid4().hex}"


def test_slash_command_acknowledges_then_works_then_completes(function, slack):
    task = f"nightly-{uuid.uuid4().hex[:8]}"  # its own paths: the stand-in serves every test
    status_path = f"/status?task={task}"
    slack.hold(status_path)  # the long work cannot finish until the test says so
    response_path = fresh_path("commands")

    answer = call(function, slash_command_event(task, slack.url + response_path))

    # The acknowledgement is back while the work is still waiting on the status service.
    assert answer["statusCode"] == 200
    assert json.loads(lambda_body(answer)) == {"text": f"Accepted! (task: {task})"}
    slack.wait_for(status_path)
    assert not [r for r in slack.requests if r.path == response_path]
    slack.release(status_path)

    completed = slack.wait_for(response_path).json()
    assert completed["text"] == f"Completed! (task: {task})"
    assert "The status service says" in completed["blocks"][0]["text"]["text"]
    button = completed["blocks"][1]["elements"][0]
    assert (button["action_id"], button["value"]) == ("mark_reviewed", task)
    paths = [r.path for r in slack.requests if r.path in (status_path, response_path)]
    assert paths == [status_path, response_path]
    assert callbacks_run(function) == 1


def test_an_empty_command_gets_usage_help_and_no_work(function, slack):
    answer = call(function, signed_event(command_body("  ", slack.url + "/unused"), FORM))
    assert json.loads(lambda_body(answer))["text"].startswith("Usage: /start-process")
    assert callbacks_run(function) == 0


def test_a_rest_api_command_works_the_same(function, slack):
    response_path = fresh_path("commands")
    body = command_body("from-rest", slack.url + response_path)
    answer = call(function, signed_event(body, FORM, shape="1.0"))
    assert json.loads(lambda_body(answer))["text"] == "Accepted! (task: from-rest)"
    assert slack.wait_for(response_path).json()["text"] == "Completed! (task: from-rest)"


def test_a_button_click_updates_the_original_message(function, slack):
    response_path = fresh_path("actions")
    answer = call(function, signed_event(action_body(slack.url + response_path, value="t9"), FORM))
    assert (answer["statusCode"], answer["body"]) == (200, "")
    update = slack.wait_for(response_path).json()
    assert update == {
        "replace_original": True,
        "text": "Completed! (task: t9), reviewed by <@U0TEST>",
    }


def mentions_replied(slack: LoopbackServer, user: str) -> list[dict]:
    """The Web API posts that answered `user`'s mention, in arrival order."""
    posts = [r for r in slack.requests if r.path == "/api/chat.postMessage"]
    assert all(p.headers["authorization"] == f"Bearer {TOKEN}" for p in posts)
    return [p.json() for p in posts if f"<@{user}>" in p.json()["text"]]


def test_a_mention_is_answered_in_its_thread_once_whatever_the_retries(function, slack):
    user = f"U{uuid.uuid4().hex[:8]}"
    body = mention_body(f"Ev{user}").replace(b"U0TEST", user.encode())
    first = call(function, signed_event(body, JSON))
    assert (first["statusCode"], first["body"]) == (200, "")
    assert callbacks_run(function) == 1
    assert mentions_replied(slack, user) == [
        {
            "channel": "C0TEST",
            "thread_ts": "1700000000.000100",
            "text": f"Hi <@{user}>! Try /start-process <task>.",
        }
    ]

    # Slack's retries of that event, and the same event_id in another body, are acknowledged
    # and dropped: no listener call, no deferred work, no second reply.
    retry = [("X-Slack-Retry-Num", "1"), ("X-Slack-Retry-Reason", "http_timeout")]
    again = call(function, signed_event(body, JSON, extra=retry))
    assert (again["statusCode"], again["headers"]["x-slack-no-retry"]) == (200, "1")
    assert callbacks_run(function) == 0
    other_body = body.replace(b"hello", b"hello again")
    assert call(function, signed_event(other_body, JSON))["statusCode"] == 200
    assert callbacks_run(function) == 0
    assert len(mentions_replied(slack, user)) == 1


def test_a_retry_whose_first_delivery_went_elsewhere_is_handled(function, slack):
    user = f"U{uuid.uuid4().hex[:8]}"
    body = mention_body(f"Ev{user}", thread_ts="1700000000.000001").replace(
        b"U0TEST", user.encode()
    )
    retry = [("X-Slack-Retry-Num", "2"), ("X-Slack-Retry-Reason", "http_error")]
    assert call(function, signed_event(body, JSON, extra=retry))["statusCode"] == 200
    assert callbacks_run(function) == 1
    [reply] = mentions_replied(slack, user)
    assert reply["thread_ts"] == "1700000000.000001"  # the thread the mention was in


def test_url_verification_answers_the_challenge(function):
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "c-123"}).encode()
    answer = call(function, signed_event(body, JSON))
    assert answer["statusCode"] == 200
    assert json.loads(lambda_body(answer)) == {"challenge": "c-123"}


def unsigned(body: bytes) -> dict:
    return http_event(body, [("Content-Type", FORM)])


def only_timestamp(body: bytes) -> dict:
    return http_event(body, [("Content-Type", FORM), signature_headers(body)[0]])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: signed_event(b, FORM, secret="forged-secret"), "signature mismatch"),
        (
            lambda b: signed_event(b, FORM, timestamp=int(time.time()) - 400),
            "more than 5 minutes old",
        ),
        (
            lambda b: signed_event(b, FORM, timestamp=int(time.time()) + 400),
            "5 minutes in the future",
        ),
        (unsigned, "missing x-slack-request-timestamp"),
        (only_timestamp, "missing x-slack-signature"),
    ],
    ids=["forged", "stale", "future", "missing", "missing-signature"],
)
def test_unverified_requests_get_401_and_no_work(function, slack, make, reason):
    response_path = fresh_path("commands")
    answer = call(function, make(command_body("evil", slack.url + response_path)))
    assert answer["statusCode"] == 401
    assert answer["body"].startswith("invalid Slack request: ") and reason in answer["body"]
    assert callbacks_run(function) == 0
    assert f"request refused (401): {answer['body']}" in function.output
    assert not [r for r in slack.requests if r.path == response_path]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: signed_event(b"hello", "text/plain"), "expected a form or JSON body"),
        (lambda: signed_event(b"team_id=T1&text=x", FORM), "form body without command or payload"),
        (lambda: signed_event(b"payload=%7Bnope", FORM), "payload is not valid JSON"),
        (
            lambda: signed_event(b'{"type": "event_callback"}', JSON),
            "event_callback without an event",
        ),
        (lambda: {"not": "an HTTP event"}, "not an HTTP request event"),
    ],
    ids=["not-form-or-json", "no-command", "payload-not-json", "no-event", "not-http"],
)
def test_malformed_requests_get_a_clear_400(function, make, message):
    # Signed when the test runs, not when it is collected: a signature goes stale in 5 minutes.
    answer = call(function, make())
    assert answer["statusCode"] == 400
    assert message in answer["body"] and "Traceback" not in answer["body"]
    assert callbacks_run(function) == 0
    assert f"request refused (400): {answer['body']}" in function.output


def test_without_a_signing_secret_the_function_fails_its_init(emulator, slack):
    env = app_env(slack)
    del env["SLACK_SIGNING_SECRET"]
    function = emulator(HANDLER, ROOT, env=env)
    result = function.invoke(signed_event(command_body("x", slack.url + "/never"), FORM))
    assert result.function_error
    error = result.json()
    assert error["errorType"] == "ConfigurationError"
    assert "SLACK_SIGNING_SECRET is not set" in error["errorMessage"]


def test_failed_work_tells_the_user(emulator, slack):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        env = app_env(slack, STATUS_URL=f"http://127.0.0.1:{closed.getsockname()[1]}/status")
        function = emulator(HANDLER, ROOT, env=env)
        response_path = fresh_path("commands")
        call(function, signed_event(command_body("doomed", slack.url + response_path), FORM))
        failed = slack.wait_for(response_path).json()
        function.wait_idle()
    assert failed == {"text": "Failed! (task: doomed): ConnectionError"}
    assert "deferred callback finish_task failed" in function.output
