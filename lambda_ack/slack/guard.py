"""The ack guard: Slack gets an answer in its 3 seconds even when a listener is slow to give one.

A listener that does its work before acknowledging (or a cold start that ate the budget) would have
Slack show an error and retry. When no acknowledgement has been posted `after_ms` (2,500) after
Slack sent the request, the guard posts a fallback itself: an empty 200, or the text the app
configures. Slack's clock started before this runtime's on a cold start the request caused, so the
time then counts from the process's start, otherwise from the invocation's
(`lambda_ack.environment.origin`). It is armed only for a request whose signature has been verified:
a forged one gets its 401, however late.

The listener's real acknowledgement, when it comes, is not lost: for a command or an interaction
it goes to the request's `response_url` (Slack takes messages there for 30 minutes); an event's
has nowhere to go and is logged as superseded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from lambda_ack import durable_functions, logs
from lambda_ack.answer.acknowledgement import Acknowledgement
from lambda_ack.deferred.timer import Timer
from lambda_ack.environment import origin
from lambda_ack.web.http_event import Response, to_lambda

log = logs.runtime_log

DEFAULT_AFTER_MS = 2500


class AckGuard:
    """`after_ms=None` (or 0) turns the guard off. Cheap to make (an app may build its adapter
    per invocation): the one thread that watches lives in the process, started with the first
    request guarded, and watches one invocation at a time."""

    def __init__(self, after_ms: int | None = DEFAULT_AFTER_MS, fallback: str | None = None):
        self.after_ms = after_ms
        self.fallback = fallback

    def watch(self, answer: Acknowledgement, late: Callable[[object], None]) -> None:
        """Guard `answer`; `late(acknowledgement)` is where the listener's own goes if the
        fallback went first."""
        if not self.after_ms or durable_functions.in_execution():
            return  # off, or not for a durable execution: its caller waits for the result
        answer.after_guard = late
        since = origin.caller_waiting_since(answer.started, answer.cold_start)
        _timer.set(since + self.after_ms / 1000, lambda: self._fire(answer))

    def stand_down(self) -> None:
        """Once this returns, the fallback has been posted or never will be."""
        _timer.clear()

    def _fire(self, answer: Acknowledgement) -> None:
        fallback = to_lambda(Response(200, self.fallback))
        if answer.post(fallback, "guard"):
            log.warning(
                "ack guard: no acknowledgement %d ms after the request (%.0f ms into this "
                "invocation); posted the fallback",
                self.after_ms,
                (time.perf_counter() - answer.started) * 1000,
            )


_timer = Timer("ack-guard")


def deliver_late(kind: str, response_url: str | None, message: dict | None) -> None:
    """The listener's acknowledgement, after the guard's: to `response_url`, or logged."""
    if message is None:
        return
    if kind in ("command", "interaction") and response_url:
        from lambda_ack.slack.clients import respond

        try:
            respond(response_url, **message)
        except Exception:
            log.exception("ack guard: the listener's acknowledgement could not be delivered")
            return
        log.info("ack guard: the listener's acknowledgement was delivered to its response_url")
        return
    log.warning(
        "ack guard: the listener's acknowledgement of this %s was superseded by the fallback",
        kind,
    )


def message_of(body: str) -> dict | None:
    """A Slack message from an HTTP answer's body: its JSON object, or its text."""
    if not body:
        return None
    if body.lstrip().startswith("{"):
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if isinstance(message, dict):
            return message
    return {"text": body}
