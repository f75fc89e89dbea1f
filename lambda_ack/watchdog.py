"""A warning in the logs just before Lambda kills an environment stuck in a deferred callback.

Lambda ends an invocation that outlives its timeout by killing the whole environment, and the
log then shows only "Task timed out". The runtime cannot stop a running callback, but it can
say which one was running, so the user knows where to look.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lambda_ack import logs

log = logs.runtime_log

# How long before the deadline the warning is written: enough for the line to leave the process.
WARN_BEFORE_DEADLINE_MS = 200
_LONGEST_WAIT_S = 3600.0


class Watchdog:
    """One daemon thread, started with the first callback, watching one callback at a time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        # (serial, what is running, deadline ms, when to warn in ms, what to do then)
        self._job: tuple[int, str, int, float, Callable[[], None] | None] | None = None
        self._serial = 0
        self._thread: threading.Thread | None = None

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
        warn_at = max(deadline_ms - before_ms, (now_ms + deadline_ms) / 2)
        with self._cond:
            self._serial += 1
            self._job = (self._serial, what, deadline_ms, warn_at, then)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadline-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify()

    def clear(self) -> None:
        with self._cond:
            self._job = None

    def _run(self) -> None:
        with self._cond:
            while True:
                job = self._job
                if job is None:
                    self._cond.wait()
                    continue
                serial, name, deadline_ms, warn_at, then = job
                now_ms = time.time() * 1000
                if now_ms < warn_at:
                    # Bounded: a deadline days away must not overflow the wait; it is re-read.
                    self._cond.wait(min((warn_at - now_ms) / 1000, _LONGEST_WAIT_S))
                    continue  # re-read: the job may have changed or ended meanwhile
                log.warning(
                    "%s is still running %d ms before the deadline; Lambda will "
                    "stop the environment at the deadline and the next event pays a cold start",
                    name,
                    max(deadline_ms - now_ms, 0),
                )
                if then is not None:
                    try:
                        then()
                    except Exception:
                        log.exception("the watchdog's action for %s failed", name)
                while self._job is not None and self._job[0] == serial:
                    self._cond.wait()


watchdog = Watchdog()
