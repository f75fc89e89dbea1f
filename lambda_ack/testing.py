"""For a project's own tests: its function on this machine as Lambda runs it, and Slack's side.

    from lambda_ack.testing import SlackStandIn, answer_text, local_function, slash_command

    def test_hello():
        with SlackStandIn() as slack, local_function(env={"SLACK_SIGNING_SECRET": "s"}) as fn:
            result = fn.invoke(slash_command("/hello world", slack.response_url, "s"))
            assert "Working on it" in answer_text(result)
            assert slack.posted()["text"] == "Done: world"

`local_function` is lambda-ack's local Lambda (`lambda-ack emulate`): the runtime in a process
of its own, serving the project's handler over a Runtime API on loopback, the caller answered as
soon as the response is posted and the deferred work run after it, as on Lambda. Never part of a
function: `lambda-ack build` leaves this module out.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.invoke import InvokeResult
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.slack_request import slash_command_event

__all__ = ["SlackStandIn", "answer_text", "http_request", "local_function", "slash_command"]

RESPONSE_PATH = "/response_url"


def local_function(
    handler: str | None = None,
    *,
    env: dict[str, str] | None = None,
    root: str | Path | None = None,
    timeout_s: float = 30.0,
) -> Emulator:
    """The project's function (its `[tool.lambda-ack]` handler, or `handler` in the folder
    `root`), started on first invoke; use it as a context manager, which stops it."""
    if handler is None or root is None:
        from lambda_ack.cli import project

        found = project.find(Path(root) if root else None)
        handler, root = handler or found.handler, root or found.root
    return Emulator(handler, root, env=env, function_timeout_s=timeout_s, timeline=None)


def slash_command(line: str, response_url: str, signing_secret: str) -> dict:
    """`"/cmd text"` as Lambda delivers it from a Function URL, signed now with the secret."""
    command, _, text = line.strip().partition(" ")
    return slash_command_event(text, response_url, secret=signing_secret, command=command)


def http_request(
    method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> dict:
    """An HTTP request (`target` is the path and query) as Lambda delivers it from a Function
    URL: the payload 2.0 event, as `lambda-ack emulate` makes it for a request it receives."""
    from lambda_ack.cli.local.function_url import event_from

    return event_from(method, target, headers or {}, body, "localhost")


def answer_text(result: InvokeResult) -> str:
    """The HTTP body of the function's answer (a Lambda HTTP response), as text."""
    answer = result.json()
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return body


class SlackStandIn(LoopbackServer):
    """Slack's side on loopback: a command's `response_url` that records what is posted to it,
    and a Web API (`api_url`, for `SLACK_API_URL`) that answers every method `{"ok": true}`."""

    @property
    def response_url(self) -> str:
        return self.url + RESPONSE_PATH

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def posted(self, count: int = 1, timeout: float = 10.0) -> dict:
        """The `count`-th message the function posted to the response_url, once it arrived."""
        return json.loads(self.wait_for(RESPONSE_PATH, count, timeout).body)
