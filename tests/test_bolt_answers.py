"""lambda_ack.slack.bolt answers what Bolt's own Lambda adapter answers, request for request, in
process.

Both adapters wrap the same `App` (real slack_bolt, pinned); Bolt's imports the real boto3
(pinned for development only), which neither answer here needs: no lazy listener runs.
"""

from __future__ import annotations

import logging
import os

import pytest
from slack_bolt import App
from slack_support import FORM, command_body, signed_event

from lambda_ack.cli.local.slack_request import SIGNING_SECRET


class _Context:
    function_name = "function"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:function"
    aws_request_id = "req-1"


def make_app() -> App:
    app = App(
        signing_secret=SIGNING_SECRET,
        token="xoxb-not-used",
        process_before_response=True,
        token_verification_enabled=False,
    )
    app.command("/start-process")(lambda ack, body: ack(f"Accepted! ({body['text']})"))
    return app


@pytest.fixture(scope="module")
def adapters():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # boto3, when Bolt's adapter loads
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler as BoltsAdapter

    from lambda_ack.slack.bolt import SlackRequestHandler

    return BoltsAdapter(make_app()), SlackRequestHandler(make_app())


def get_event() -> dict:
    event = signed_event(b"", FORM)
    event["requestContext"]["http"]["method"] = "GET"
    return event


@pytest.mark.parametrize(
    "make",
    [
        lambda: {"not": "an HTTP event"},
        get_event,
        lambda: signed_event(command_body("report", "http://127.0.0.1:1/r"), FORM),
        lambda: signed_event(command_body("x", "http://127.0.0.1:1/r"), FORM, secret="forged"),
    ],
    ids=["not-http", "get", "signed-command", "forged"],
)
def test_the_same_answer_as_bolts_adapter(adapters, make):
    bolts, ours = adapters
    event = make()
    theirs = bolts.handle(make() if "headers" in event else dict(event), _Context())
    mine = ours.handle(event, _Context())
    assert mine == theirs


def test_the_incoming_event_debug_line_is_logged_as_bolt_logs_it(adapters, caplog):
    _, ours = adapters
    with caplog.at_level(logging.DEBUG, logger=ours.logger.name):
        ours.handle({"not": "an HTTP event"}, _Context())
    assert any(r.getMessage().startswith("Incoming event: {'not'") for r in caplog.records)
