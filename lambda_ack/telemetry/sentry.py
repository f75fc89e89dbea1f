"""Sentry: an exception in a deferred callback is an event with the invocation's request id.

Sentry's AWS Lambda integration scopes its events to the handler and flushes when it returns;
a callback's exception was then only a line in the log (the runtime catches it). Each attempt
of a callback runs in an isolation scope carrying the request id (in `extra.lambda`, where the
integration puts it), the callback's name (tag `deferred_callback`) and the attempt; a failed
attempt is captured as unhandled. What the callback logs through `logging` at ERROR is
captured by Sentry's logging integration within the same scope. At the flush point Sentry's
queue is sent (`sentry_sdk.flush`) when a callback captured something, so the events leave
before the next event is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from lambda_ack.telemetry.tools import Integration


class Sentry(Integration):
    def __init__(self) -> None:
        import sentry_sdk

        self._sdk = sentry_sdk
        self._captured = False  # an event from a callback waits in Sentry's queue

    @contextmanager
    def observe(self, callback: object, attempt: int, captured: object) -> Iterator[None]:
        sdk = self._sdk
        if not sdk.get_client().is_active():
            yield
            return
        from lambda_ack import logs

        with sdk.isolation_scope() as scope:
            scope.set_tag("deferred_callback", callback.name)
            scope.set_extra(
                "lambda",
                {
                    "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                    "aws_request_id": logs.request_id() or None,
                    "deferred_callback": callback.name,
                    "attempt": attempt,
                },
            )
            try:
                yield
            except Exception as e:
                from sentry_sdk.utils import event_from_exception

                event, hint = event_from_exception(
                    e,
                    client_options=sdk.get_client().options,
                    mechanism={"type": "lambda_ack.deferred", "handled": False},
                )
                sdk.capture_event(event, hint=hint)
                raise
            finally:
                # What the callback logged at ERROR (the logging integration) counts too.
                self._captured |= scope.last_event_id() is not None

    def flush(self, budget_s: float, final: bool) -> None:
        """Only after a callback captured something (or at SIGTERM): a flush wakes Sentry's
        sending thread and waits for it, a few hundred microseconds even with nothing to send,
        and its own integration has flushed what the handler captured."""
        if (self._captured or final) and self._sdk.get_client().is_active():
            self._captured = False
            self._sdk.flush(timeout=budget_s)


def integration() -> Integration:
    return Sentry()
