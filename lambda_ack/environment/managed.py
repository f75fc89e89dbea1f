"""`defer` on AWS's managed Python runtime, through an internal extension.

On the managed runtime nothing of this package runs the loop: awslambdaric does, and nothing runs
after the handler returns, unless an extension holds the environment. Lambda does not freeze the
environment until every extension has asked for its next event. So a thread of the function's
own process registers as an internal extension for INVOKE events, and after each invocation's
handler has returned it runs that invocation's deferred callbacks, with the same rules as this
runtime (`lambda_ack.deferred.phase.run_batch`). Only then does it ask for the next event, which
releases the invocation. awslambdaric posts the response meanwhile, from its own thread.

It must register during init, before the runtime's first `/next` (Lambda refuses it later): the
`@runtime.deferrable` decorator calls `start()` when the function's module is imported.

What does not carry over: an internal extension cannot subscribe to SHUTDOWN, so there is no
SIGTERM report and no `on_shutdown`. The callbacks share the GIL with awslambdaric's thread,
which is still posting the response when they start. The environment is billed until they end,
as on this runtime.
"""

from __future__ import annotations

import json
import os
import threading
import time

from lambda_ack import deferred, logs
from lambda_ack.connection import Connection, ConnectionFailed
from lambda_ack.deferred import phase
from lambda_ack.environment import extension as extensions_api

NAME = "lambda-ack-deferred"

log = logs.runtime_log


class Outcome:
    """What the handler of one invocation left: its batch, and why its work must not run."""

    __slots__ = ("batch", "discard_reason")

    def __init__(self, batch: deferred.Batch, discard_reason: str | None) -> None:
        self.batch = batch
        self.discard_reason = discard_reason


class Extension:
    def __init__(self, address: str, margin: str) -> None:
        host, _, port = address.rpartition(":")
        self._conn = Connection(host.strip("[]"), int(port))
        self._outcomes: dict[str, Outcome] = {}
        self._changed = threading.Condition()
        self.margin_ms = (
            int(margin) if margin.isascii() and margin.isdigit() else deferred.DEFAULT_MARGIN_MS
        )
        self._identifier = ""

    def register(self) -> bool:
        self._identifier, problem = extensions_api.register(self._conn, NAME, ["INVOKE"])
        if isinstance(problem, ConnectionFailed):
            log.error(
                "no extension (the Extensions API cannot be reached: %s); deferred "
                "work runs before each answer instead",
                problem,
            )
            return False
        if problem is not None:
            log.error(
                "no extension (the Extensions API refused it: HTTP %d %s); deferred work runs "
                "before each answer instead",
                problem.status,
                problem.body[:200].decode("utf-8", "replace"),
            )
            return False
        threading.Thread(target=self._serve, name=NAME, daemon=True).start()
        return True

    def handler_done(
        self, request_id: str, batch: deferred.Batch, discard_reason: str | None
    ) -> None:
        """The handler of `request_id` has returned (or raised): its work may run."""
        with self._changed:
            self._outcomes[request_id] = Outcome(batch, discard_reason)
            self._changed.notify_all()

    def _serve(self) -> None:
        """Ask for an event; run the work of the invocation it names once its handler is done;
        ask again, which releases that invocation to Lambda. Whatever happens in between."""
        while True:
            response = extensions_api.next_event(self._conn, self._identifier)
            if response is None:
                return  # the environment is going away
            if response.status != 200:
                log.error("the Extensions API answered %d to event/next", response.status)
                return
            try:
                event = json.loads(response.body)
            except ValueError:
                continue
            if event.get("eventType") == "INVOKE":
                try:
                    self._after_handler(str(event.get("requestId", "")), event.get("deadlineMs"))
                except BaseException:  # the invocation is released whatever the work did
                    log.exception("deferred work failed outside its callbacks")

    def _after_handler(self, request_id: str, deadline_ms: object) -> None:
        deadline = deadline_ms if isinstance(deadline_ms, int) else int(time.time() * 1000) + 3000
        with self._changed:
            # The handler returns after Lambda has sent this event; wait for it, not past the
            # deadline (by then Lambda ends the invocation anyway).
            self._changed.wait_for(
                lambda: request_id in self._outcomes,
                max(0.0, deadline / 1000 - time.time()),
            )
            outcome = self._outcomes.pop(request_id, None)
        if outcome is None:
            log.warning("the handler of %s did not finish before its deadline", request_id)
            return
        logs.set_request(request_id, None)
        deferred.adopt(outcome.batch)
        started = time.perf_counter()
        counts = phase.run_batch(outcome.batch, deadline, self.margin_ms, outcome.discard_reason)
        from lambda_ack.deferred import aio

        aio.settle(deadline, self.margin_ms)
        from lambda_ack import telemetry

        telemetry.invocation_ended(deadline)
        deferred_ms = (time.perf_counter() - started) * 1000
        logs.runtime_info(
            f"deferred work done: deferred_ms={deferred_ms:.2f} {counts.text()}",
            {"deferredMs": round(deferred_ms, 2), "callbacks": counts.fields()},
        )


_extension: Extension | None = None


def start() -> Extension | None:
    """Register the extension once per process (during init); None when that failed."""
    global _extension
    if _extension is None:
        env = os.environ
        logs.join_managed_runtime(env.get("AWS_LAMBDA_LOG_FORMAT"), env.get("AWS_LAMBDA_LOG_LEVEL"))
        margin = env.get("LAMBDA_RUNTIME_DEFER_MARGIN_MS", str(deferred.DEFAULT_MARGIN_MS))
        extension = Extension(env["AWS_LAMBDA_RUNTIME_API"], margin)
        if extension.register():
            _extension = extension
    return _extension
