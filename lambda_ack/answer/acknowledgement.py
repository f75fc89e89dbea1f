"""The invocation's answer, posted once: by `ack()` from inside the handler, by the loop with the
handler's return value, or by an ack guard (`lambda_ack.slack.guard`) on the handler's behalf.

Slack code is written ack-first: a listener acknowledges, then does its work. `ack(result)`
posts `result` at once, encoded exactly as a return value would be, and the rest of the handler
becomes deferred work of the same invocation: the callbacks already registered run once it
returns, the watchdog watches it, and the timeline counts it as one deferred unit (failed if it
raises). Whoever posts first wins; the lock makes the handler's `ack` and a guard's fallback,
which may race from two threads, post exactly one answer.

When the caller does not get the acknowledgement (the result cannot be encoded, is over 6 MiB,
or the Runtime API refuses it), `ack` raises `AcknowledgementFailed`: the rest of the handler
would be work for an answer nobody received, so it stops there, and the callbacks are discarded
as they are when a return value fails the same way.
"""

from __future__ import annotations

import time
from _thread import RLock  # threading.RLock's C class, without its Python wrapper call
from collections.abc import Callable

from lambda_ack import deferred, logs
from lambda_ack.answer import marshal
from lambda_ack.answer.stream import Stream
from lambda_ack.errors import PROCESS_EXITS, RESPONSE_TOO_LARGE, Fault

log = logs.runtime_log

# The largest buffered response Lambda accepts: 6 MiB plus 100 bytes.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100


class AcknowledgementFailed(RuntimeError):
    """`ack()` did not give the caller its answer; the error was posted instead, or refused."""


class Acknowledgement:
    """One invocation's answer and how it went: who posted it (`source`: "ack", "return" or
    "guard"), when (`posted_at`, `perf_counter`), the failure the caller got instead, if any."""

    def __init__(self, api: object, invocation: object, started: float, cold_start: bool) -> None:
        self._api = api
        self._invocation = invocation
        # Re-entrant: a Stream's body runs while its answer is being posted, and an `ack()`
        # from it must hear "already acknowledged", not wait on itself.
        self._lock = RLock()
        self.started = started
        self.cold_start = cold_start
        self.source: str | None = None
        self.posted_at: float | None = None
        self.failure: BaseException | None = None
        self.status: int | None = None
        self.streamed = None  # a `stream_post.Streamed` once the answer was a Stream
        self.remainder_failed = False  # the handler raised after an early acknowledgement
        self.closed = False  # the handler has returned: no more `ack()`
        # Set by a framework for its handler (SlackApp, the Bolt adapter): how an `ack()` result
        # becomes the Lambda answer, and where a real acknowledgement goes after a guard's.
        self.shape: Callable[[object], object] | None = None
        self.after_guard: Callable[[object], None] | None = None

    @property
    def early(self) -> bool:
        """Posted before the handler returned: by `ack()` or a guard."""
        return self.source in ("ack", "guard")

    def post(self, result: object, source: str) -> bool:
        """Post `result` as the answer unless one was posted; True if this call posted it."""
        with self._lock:
            if self.source is not None:
                return False
            self._send(result, None, source)
        return True

    def post_ack(self, shaped: object, result: object) -> bool:
        """An `ack()`: post `shaped` as the answer; after a guard's fallback, `result` goes where
        the framework sends a late answer instead. False when `ack()` already answered."""
        if self.post(shaped, "ack"):
            return True
        if self.source == "guard" and self.after_guard is not None:
            self.after_guard(result)
            return True
        return False

    def finish(self, result: object, failure: BaseException | None) -> None:
        """The handler has returned `result` or raised `failure`."""
        self.closed = True
        if not self.early:
            with self._lock:
                if self.source is None:
                    self._send(result, failure, "return")
                    return
        # An early answer: the rest of the handler was watched. The watchdog is loaded only by
        # functions that answer early or defer (`lambda_ack.deferred.phase.machinery`).
        from lambda_ack.deferred.watchdog import watchdog

        watchdog.clear()
        if isinstance(failure, AcknowledgementFailed):
            return  # its error has been reported as the invocation's
        if failure is not None:
            self.remainder_failed = True
            log.error("the handler failed after acknowledging", exc_info=failure)
            if isinstance(failure, PROCESS_EXITS):
                self.failure = failure  # the process exits once the invocation is done
        elif result is not None:
            log.warning(
                "the handler's return value was discarded: the invocation was already "
                "acknowledged (by %s)",
                "ack()" if self.source == "ack" else "the ack guard",
            )

    def discard_reason(self) -> str | None:
        """Why the deferred callbacks must not run, or None: the caller has its acknowledgement."""
        if self.failure is not None:
            return f"the invocation failed ({_error_type(self.failure)})"
        if self.status != 202:
            return f"the Runtime API refused the response (HTTP {self.status})"
        return None

    def _send(self, result: object, failure: BaseException | None, source: str) -> None:
        api, invocation = self._api, self._invocation
        self.source = source
        status = None
        if failure is None and isinstance(result, Stream):
            from lambda_ack.answer import stream_post

            deferred.answering()
            self.streamed = stream_post.Streamed()
            status, failure = stream_post.post(api, invocation, result, self.started, self.streamed)
        elif failure is None:
            status, failure = _post_result(api, invocation, result)
        if status is None:  # the caller has not been told: it gets the error payload
            status = _post_failure(api, invocation, failure)
        self.failure, self.status = failure, status
        self.posted_at = time.perf_counter()
        if source != "return" and self.discard_reason() is None:
            from lambda_ack.deferred.watchdog import watchdog

            watchdog.watch("the handler, after its acknowledgement,", invocation.deadline_ms)


_current: Acknowledgement | None = None


def begin(api: object, invocation: object, started: float, cold_start: bool) -> Acknowledgement:
    global _current
    _current = Acknowledgement(api, invocation, started, cold_start)
    return _current


def active() -> Acknowledgement | None:
    """The acknowledgement of the invocation whose handler is calling, by the rule `defer` uses
    to tell the current invocation's code from code an earlier one left running; None outside a
    handler (a framework called in a test, a deferred callback)."""
    acknowledgement = _current
    batch = deferred.caller_batch()
    if (
        acknowledgement is None
        or acknowledgement.closed
        or batch is None
        or batch.request_id != acknowledgement._invocation.request_id
    ):
        return None
    return acknowledgement


def current() -> Acknowledgement:
    """`active()`, or the error `ack()` raises outside a handler."""
    acknowledgement = active()
    if acknowledgement is None:
        raise RuntimeError(
            "ack() was called outside an invocation's handler (at import time, from a deferred "
            "callback, or from code an earlier invocation left running)"
        )
    return acknowledgement


def ack(result: object = None) -> None:
    """Post `result` as this invocation's answer now, encoded as a return value would be; the
    rest of the handler then runs after the caller has its answer.

    Raises RuntimeError on a second `ack`, and `AcknowledgementFailed` (the caller got an error
    payload, or nothing) when the answer could not be delivered.
    """
    acknowledgement = current()
    from lambda_ack import durable_functions

    if durable_functions.in_execution():
        raise RuntimeError(durable_functions.refusal("ack()"))
    shaped = acknowledgement.shape(result) if acknowledgement.shape is not None else result
    if not acknowledgement.post_ack(shaped, result):
        by = "ack()" if acknowledgement.source == "ack" else acknowledgement.source
        raise RuntimeError(
            f"this invocation was already acknowledged (by {by}); ack() answers once"
        )
    if acknowledgement.source == "guard":
        return  # the guard answered; this one went where the framework sends late answers
    reason = acknowledgement.discard_reason()
    if reason is not None:
        raise AcknowledgementFailed(f"the acknowledgement was not delivered: {reason}")


def _post_result(
    api: object, invocation: object, result: object
) -> tuple[int | None, BaseException | None]:
    """Post a buffered result; (status, None) once posted, (None, failure) when it cannot be."""
    try:
        body, content_type = marshal.encode_result(result)
    except BaseException as e:
        return None, e
    if len(body) > MAX_RESPONSE_BYTES:
        return None, _too_large(len(body))
    deferred.answering()
    status = api.post_response(invocation, body, content_type)
    if status == 413:
        return None, _too_large(len(body))
    return status, None


def _post_failure(api: object, invocation: object, failure: BaseException) -> int:
    from lambda_ack import errors

    payload = errors.from_exception(failure, invocation.request_id)
    logs.write_error(payload)
    error_type = failure.error_type if isinstance(failure, Fault) else errors.UNHANDLED
    return api.post_error(
        invocation, errors.to_json(payload), error_type, errors.xray_cause(failure)
    )


def _too_large(size: int) -> Fault:
    return Fault(
        RESPONSE_TOO_LARGE,
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )


def _error_type(failure: BaseException) -> str:
    return failure.error_type if isinstance(failure, Fault) else type(failure).__name__
