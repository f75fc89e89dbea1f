"""Deferred callbacks: work registered during an invocation, run after its response is posted.

The rule users rely on: every registered callback either runs, fails with a logged traceback, or
is logged as skipped or discarded with the reason. Nothing is dropped silently, so `defer` refuses
(raises) when there is no invocation to attach the work to, instead of accepting it and losing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from runtime import aio
from runtime.watchdog import watchdog

log = logging.getLogger("runtime")


class Callback:
    __slots__ = ("fn", "args", "kwargs", "always")

    def __init__(self, fn: Callable[..., object], args: tuple, kwargs: dict, always: bool) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.always = always

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or repr(self.fn)


class Batch:
    """The callbacks of one invocation; closed once they have all been dealt with."""

    __slots__ = ("callbacks", "closed", "position")

    def __init__(self) -> None:
        self.callbacks: list[Callback] = []
        self.closed = False
        self.position = 0  # callbacks before this one have been dealt with or are running


class Counts:
    __slots__ = ("ran", "failed", "skipped", "discarded")

    def __init__(self) -> None:
        self.ran = self.failed = self.skipped = self.discarded = 0


_current: Batch | None = None


def defer(
    fn: Callable[..., object], /, *args: object, always: bool = False, **kwargs: object
) -> None:
    """Run `fn(*args, **kwargs)` after this invocation's response has been posted.

    Callbacks run in registration order, one at a time, in the runtime's main thread; an `async`
    function is awaited. A callback may defer more work, which runs after the callbacks already
    queued. If the handler fails, its callbacks are discarded (and logged) because the caller got
    an error, not an acknowledgement; pass `always=True` for clean-up that must run regardless.
    """
    if not callable(fn):
        hint = " (pass the async function and its arguments, not a coroutine)"
        raise TypeError(
            f"defer() needs a callable, got {type(fn).__name__}"
            + (hint if hasattr(fn, "__await__") else "")
        )
    batch = _current
    if batch is None or batch.closed:
        raise RuntimeError(
            "defer() was called outside an invocation (at import time, or from a thread that "
            "outlived its invocation); the work would never run, so it is refused"
        )
    batch.callbacks.append(Callback(fn, args, kwargs, always))


def open_batch() -> Batch:
    global _current
    _current = Batch()
    return _current


def in_progress() -> tuple[str | None, list[str]]:
    """The callback running now (if any) and those still waiting, for a shutdown report."""
    batch = _current
    if batch is None or batch.closed:
        return None, []
    names = [callback.name for callback in batch.callbacks]
    if batch.position == 0:
        return None, names
    return names[batch.position - 1], names[batch.position :]


def run_batch(
    batch: Batch,
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
    i = 0
    try:
        while i < len(callbacks):
            callback = callbacks[i]
            i += 1
            batch.position = i
            if discard_reason is not None and not callback.always:
                counts.discarded += 1
                log.warning("deferred callback %s discarded: %s", callback.name, discard_reason)
                continue
            left = deadline_ms - int(time.time() * 1000)
            if left < margin_ms:
                counts.skipped += 1
                log.warning(
                    "deferred callback %s skipped: %d ms left before the deadline, "
                    "under the %d ms safety margin",
                    callback.name,
                    left,
                    margin_ms,
                )
                continue
            counts.ran += 1
            watchdog.watch(callback.name, deadline_ms)
            try:
                result = callback.fn(*callback.args, **callback.kwargs)
                if hasattr(type(result), "__await__"):
                    aio.run(result)
            except Exception:
                counts.failed += 1
                log.exception("deferred callback %s failed", callback.name)
            except BaseException as e:
                counts.failed += 1
                log.exception("deferred callback %s raised %s", callback.name, type(e).__name__)
                _skip_rest(callbacks[i:], counts, f"the runtime is exiting on {type(e).__name__}")
                raise
            finally:
                watchdog.clear()
    finally:
        batch.closed = True
    return counts


def _skip_rest(rest: list[Callback], counts: Counts, reason: str) -> None:
    for callback in rest:
        counts.skipped += 1
        log.warning("deferred callback %s skipped: %s", callback.name, reason)
