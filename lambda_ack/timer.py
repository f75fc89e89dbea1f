"""One pending action at its time, on one daemon thread: the watchdog's and the ack guard's.

Both are re-armed at every invocation, so arming is a lock and a notify, not a thread. The
action runs holding the timer's lock: once `clear()` returns, the action has run or never will,
which is what lets a caller decide, after it, whether the action happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_LONGEST_WAIT_S = 3600.0  # a time days away must not overflow the wait; it is re-read


class Timer:
    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._job: tuple[float, Callable[[], None]] | None = None  # (perf_counter time, action)
        self._thread: threading.Thread | None = None

    def set(self, at: float, action: Callable[[], None]) -> None:
        """Run `action()` at `at` (`time.perf_counter()`'s clock), replacing what was set."""
        with self._cond:
            self._job = (at, action)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
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
                at, action = job
                left = at - time.perf_counter()
                if left > 0:
                    self._cond.wait(min(left, _LONGEST_WAIT_S))
                    continue  # re-read: the job may have ended or changed meanwhile
                self._job = None
                action()
