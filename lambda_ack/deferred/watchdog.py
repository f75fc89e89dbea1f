"""A warning in the logs just before Lambda kills an environment stuck in a deferred callback.

Lambda ends an invocation that outlives its timeout by killing the whole environment, and the
log then shows only "Task timed out". The runtime cannot stop a running callback, but it can
say which one was running, so the user knows where to look.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lambda_ack import logs, telemetry
from lambda_ack.deferred.timer import Timer

log = logs.runtime_log

# How long before the deadline the warning is written: enough for the line to leave the process.
WARN_BEFORE_DEADLINE_MS = 200


class Watchdog:
    """Watches one piece of work at a time (`lambda_ack.deferred.timer`)."""

    def __init__(self) -> None:
        self._timer = Timer("deadline-watchdog")

    def watch(
        self,
        what: str,
        deadline_ms: int,
        then: Callable[[], None] | None = None,
        before_ms: int = WARN_BEFORE_DEADLINE_MS,
    ) -> None:
        """`what`: the work as the warning names it ("deferred callback f"); `then`: called
        (on the watchdog's thread) once the warning is written, `before_ms` before the deadline."""
        now_ms = time.time() * 1000
        # Already within the warning window: give the callback half of what is left before
        # calling it stuck, so a quick callback started late is not reported.
        warn_at_ms = max(deadline_ms - before_ms, (now_ms + deadline_ms) / 2)

        def warn() -> None:
            log.warning(
                "%s is still running %d ms before the deadline; Lambda will stop the "
                "environment at the deadline and the next event pays a cold start",
                what,
                max(deadline_ms - time.time() * 1000, 0),
            )
            if then is not None:
                try:
                    then()
                except Exception:
                    log.exception("the watchdog's action for %s failed", what)
            # Lambda may kill the environment at the deadline: what the invocation's telemetry
            # holds leaves now, while the callback still runs.
            telemetry.invocation_ended(deadline_ms)

        self._timer.set(time.perf_counter() + (warn_at_ms - now_ms) / 1000, warn)

    def clear(self) -> None:
        self._timer.clear()


watchdog = Watchdog()
