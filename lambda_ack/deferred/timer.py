"""One pending action at its time, on one daemon thread: the watchdog's and the ack guard's.

Both are re-armed at every invocation, so arming is a lock, not a thread, and it wakes the
thread only when the new time comes before the one the thread already waits for: re-armed for a
later deadline, the thread re-reads the job when its wait ends anyway. So a run of invocations
costs one wake-up per deadline period, not two per invocation (N workers on Managed Instances
made those wake-ups show). The action runs holding the timer's lock: once `clear()` returns,
the action has run or never will, which is what lets a caller decide, after it, whether the
action happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_LONGEST_WAIT_S = 3600.0  # a time days away must not overflow the wait; it is re-read
_timers: list[Timer] = []


def start_threads() -> None:
    """Start the thread of every timer made so far, idle until set: what the first `set` would
    otherwise do. Before a SnapStart snapshot, so a restored environment's first invocation does
    not wait for a thread to start (`lambda_ack.environment.snapstart`)."""
    for timer in _timers:
        with timer._cond:
            if timer._thread is None:
                timer._start()


class Timer:
    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._job: tuple[float, Callable[[], None]] | None = None  # (perf_counter time, action)
        self._thread: threading.Thread | None = None
        self._wakes_at: float | None = None  # when the thread's wait ends; None: no end
        _timers.append(self)

    def set(self, at: float, action: Callable[[], None]) -> None:
        """Run `action()` at `at` (`time.perf_counter()`'s clock), replacing what was set."""
        with self._cond:
            self._job = (at, action)
            if self._thread is None:
                self._start()
            elif self._wakes_at is None or at < self._wakes_at:
                self._cond.notify()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def clear(self) -> None:
        with self._cond:
            self._job = None

    def _run(self) -> None:
        with self._cond:
            while True:
                job = self._job
                if job is None:
                    self._wakes_at = None
                    self._cond.wait()
                    continue
                at, action = job
                now = time.perf_counter()
                if at > now:
                    wait = min(at - now, _LONGEST_WAIT_S)
                    self._wakes_at = now + wait
                    self._cond.wait(wait)
                    continue  # re-read: the job may have ended or changed meanwhile
                self._job = None
                action()
