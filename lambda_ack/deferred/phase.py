"""The deferred phase: every callback of a batch dealt with, once the answer has gone out.

Before each callback the deadline is checked, a failing one is retried as it asked
(`lambda_ack.deferred.retries`), the watchdog watches it, and durable work that cannot finish
here is handed off (`lambda_ack.deferred.durable`). At SIGTERM, what is running or waiting and
durable is handed off too. The counts go on the invocation's timeline line.
"""

from __future__ import annotations

import time

from lambda_ack import deferred, logs, telemetry
from lambda_ack.errors import PROCESS_EXITS

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from types import ModuleType

    from lambda_ack.deferred.watchdog import Watchdog

log = logs.runtime_log


def machinery() -> tuple[ModuleType, ModuleType, Watchdog]:
    """What running a callback takes: durable hand-off, retries, the watchdog (with its timer
    thread). Imported with the first callback, so a function that never defers does not load it
    at start-up; SnapStart loads it before the snapshot (`lambda_ack.environment.snapstart`).
    Kept once loaded: asked before every callback, the imports alone took 1.2 µs each time."""
    global _machinery
    if _machinery is None:
        from lambda_ack.deferred import durable, retries
        from lambda_ack.deferred.watchdog import watchdog

        _machinery = (durable, retries, watchdog)
    return _machinery


_machinery: tuple[ModuleType, ModuleType, Watchdog] | None = None


class Counts:
    __slots__ = ("ran", "failed", "skipped", "discarded", "retried", "handed_off")

    def __init__(self) -> None:
        self.ran = self.failed = self.skipped = self.discarded = self.retried = 0
        self.handed_off = 0

    def text(self) -> str:
        """For the timeline line: `callbacks_run=1 failed=0 ...`."""
        return (
            f"callbacks_run={self.ran} failed={self.failed} skipped={self.skipped} "
            f"discarded={self.discarded} retried={self.retried} handed_off={self.handed_off}"
        )

    def fields(self) -> dict[str, int]:
        """For the timeline's JSON `callbacks` object."""
        return {
            "run": self.ran,
            "failed": self.failed,
            "skipped": self.skipped,
            "discarded": self.discarded,
            "retried": self.retried,
            "handedOff": self.handed_off,
        }


def run_batch(
    batch: deferred.Batch,
    deadline_ms: int,
    margin_ms: int,
    discard_reason: str | None,
) -> Counts:
    """Deal with every callback of `batch`, including those added while it runs.

    `discard_reason` is set when the caller did not get the handler's acknowledgement: then only
    `always=True` callbacks run. Before each callback the deadline is checked; with fewer than
    `margin_ms` left it is skipped, because Lambda would kill the environment mid-callback.
    """
    counts = Counts()
    callbacks = batch.callbacks
    batch.deferring = True
    telemetry.notice_tools()  # one the handler imported on this invocation sees its callbacks
    if batch.durable and discard_reason is None:
        from lambda_ack.deferred import handoff

        handoff.prepare()
    elif discard_reason is not None:
        batch.durable = False  # discarded work is not handed off, not even at SIGTERM
    i = 0
    try:
        while True:
            with deferred.lock:
                if i >= len(callbacks):
                    batch.closed = True
                    break
                callback = callbacks[i]
            i += 1
            batch.position = i
            if discard_reason is not None and not callback.always:
                counts.discarded += 1
                log.warning("deferred callback %s discarded: %s", callback.name, discard_reason)
                continue
            durable_work, retrying, watchdog = machinery()
            left = deadline_ms - int(time.time() * 1000)
            if left < margin_ms:
                why = f"{left} ms left before the deadline, under the {margin_ms} ms safety margin"
                if callback.durable and durable_work.hand_off(
                    callback, batch, i, f"not started: {why}"
                ):
                    counts.handed_off += 1
                    continue
                counts.skipped += 1  # a durable one not sent was logged to run again
                if not callback.durable:
                    log.warning("deferred callback %s skipped: %s", callback.name, why)
                continue
            counts.ran += 1
            durable_work.watch(callback, batch, i, deadline_ms, counts)
            try:
                failed = retrying.run(callback, deadline_ms, margin_ms, counts)
                if (
                    failed
                    and callback.durable
                    and durable_work.hand_off(
                        callback, batch, i, f"failed {callback.attempts} attempt(s)"
                    )
                ):
                    counts.handed_off += 1
            except PROCESS_EXITS as e:
                counts.failed += 1
                log.exception("deferred callback %s raised %s", callback.name, type(e).__name__)
                with deferred.lock:
                    batch.closed = True
                _skip_rest(callbacks[i:], counts, f"the runtime is exiting on {type(e).__name__}")
                raise
            finally:
                watchdog.clear()
    finally:
        with deferred.lock:
            batch.closed = True
    return counts


def hand_off_unfinished(reason: str, within_s: float) -> None:
    """At SIGTERM: every durable callback of the current batch that is running or waiting."""
    batch = deferred.current()
    # Only once the answer went out (the caller may have it before its 202 comes back): a
    # handler cut off before it answered leaves work nobody was promised.
    if batch is None or batch.closed or not batch.durable or not batch.answered:
        return
    from lambda_ack.deferred import durable as durable_work  # a durable batch has loaded it

    first = max(batch.position - 1, 0)
    until = time.monotonic() + within_s  # one budget for them all: the grace period's
    for position, callback in enumerate(batch.callbacks[first:], first + 1):
        # A hand-off begun and not settled (the send SIGTERM interrupted, or one still under
        # way on the watchdog's thread) is made again: at least once, never lost.
        if callback.durable and not callback.settled:
            durable_work.hand_off(
                callback, batch, position, reason, until - time.monotonic(), again=True
            )


def _skip_rest(rest: list[deferred.Callback], counts: Counts, reason: str) -> None:
    for callback in rest:
        counts.skipped += 1
        log.warning("deferred callback %s skipped: %s", callback.name, reason)
