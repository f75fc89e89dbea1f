"""Deferred callbacks: work registered during an invocation, run after its response is posted.

The rule users rely on: every registered callback either runs, fails with a logged traceback, or
is logged as skipped or discarded with the reason. Nothing is dropped silently, so `defer` refuses
(raises) when there is no invocation to attach the work to, instead of accepting it and losing it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Container

from lambda_ack import logs
from lambda_ack.deferred import durable as durable_work
from lambda_ack.deferred import retries as retrying
from lambda_ack.deferred.watchdog import watchdog
from lambda_ack.errors import PROCESS_EXITS

log = logs.runtime_log

# The safety margin before the deadline under which a callback is not started, unless
# LAMBDA_RUNTIME_DEFER_MARGIN_MS says otherwise.
DEFAULT_MARGIN_MS = 500


class Callback:
    __slots__ = (
        "fn",
        "args",
        "kwargs",
        "always",
        "retries",
        "encoded",
        "registered",
        "attempts",
        "claimed",
        "settled",
    )

    def __init__(
        self,
        fn: Callable[..., object],
        args: tuple,
        kwargs: dict,
        always: bool,
        retries: int = 0,
        encoded: str | None = None,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.always = always
        self.retries = retries
        # A durable callback's arguments as JSON, taken when it was deferred: what a hand-off
        # sends, whatever the callback later does to the objects it was given.
        self.encoded = encoded
        self.registered = time.time() if encoded is not None else 0.0
        self.attempts = 0  # attempts started, for the hand-off's count
        self.claimed = False  # a hand-off of it has begun (`lambda_ack.deferred.durable`)
        self.settled = False  # handed off, or logged to run again: nothing more is owed

    @property
    def durable(self) -> bool:
        return self.encoded is not None

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or repr(self.fn)


class Batch:
    """The callbacks of one invocation; closed once they have all been dealt with."""

    __slots__ = (
        "callbacks",
        "closed",
        "position",
        "request_id",
        "deferring",
        "older_threads",
        "durable",
        "answered",
    )

    def __init__(self, request_id: str) -> None:
        self.callbacks: list[Callback] = []
        self.closed = False
        self.position = 0  # callbacks before this one have been dealt with or are running
        self.request_id = request_id
        self.deferring = False  # False while the handler runs
        self.durable = False  # holds a durable callback: the hand-off client gets ready
        self.answered = False  # the answer is on its way to the caller: the work is owed
        # Threads alive when the invocation began: any but a pool worker belongs to an earlier one.
        self.older_threads = _thread_idents()


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


_current: Batch | None = None
# The batch of the invocation whose code is running, in the context asyncio copies into every
# task it creates: a task started by an earlier invocation still names that one's batch.
_owner: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("batch", default=None)
# Taken to append to a batch and to close it: a `defer` from another thread either lands before
# the batch closes (and runs) or finds it closed (and raises), never in between.
_lock = threading.Lock()


def defer(
    fn: Callable[..., object],
    /,
    *args: object,
    always: bool = False,
    retries: int = 0,
    durable: bool = False,
    **kwargs: object,
) -> None:
    """Run `fn(*args, **kwargs)` after this invocation's response has been posted.

    Callbacks run in registration order, one at a time, in the runtime's main thread; an `async`
    function is awaited. A callback may defer more work, which runs after the callbacks already
    queued. If the handler fails, its callbacks are discarded (and logged) because the caller got
    an error, not an acknowledgement; pass `always=True` for clean-up that must run regardless.
    `retries=N` runs a failing callback up to N more times, with exponential backoff and
    jitter, while the deadline allows. `durable=True` declares that the callback can be run
    again from its name and arguments (a module-level function, JSON arguments: checked now,
    `TypeError` otherwise). `always`, `retries` and `durable` are this function's own: pass
    arguments of those names to `fn` with `functools.partial`.
    """
    if not callable(fn):
        hint = " (pass the async function and its arguments, not a coroutine)"
        raise TypeError(
            f"defer() needs a callable, got {type(fn).__name__}"
            + (hint if hasattr(fn, "__await__") else "")
        )
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise TypeError(f"defer(retries=...) needs a whole number >= 0, got {retries!r}")
    encoded = durable_work.encode(fn, args, kwargs) if durable else None
    callback = Callback(fn, args, kwargs, always, retries, encoded)
    with _lock:
        batch = caller_batch()
        accepted = batch is not None and not batch.closed
        if accepted:
            batch.callbacks.append(callback)
            batch.durable |= durable
    if not accepted:
        raise RuntimeError(
            "defer() was called outside an invocation (at import time, or from a thread or "
            "task that outlived the invocation that started it); the work would never run in "
            "its own invocation, so it is refused"
        )


def caller_batch() -> Batch | None:
    """The batch of the invocation whose code is calling: the one its context names (asyncio
    tasks, the main thread), else the current one unless the caller is a thread an earlier
    invocation started."""
    owner = _owner.get()
    if owner is not None:
        return owner
    batch = _current
    return None if batch is None or _left_over(batch) else batch


def _thread_idents() -> Container[int]:
    """The idents of the running threads, as a container: a copy of CPython's own table (50 ns,
    one C call, so no thread can change it meanwhile) where it exists, else the public list
    (0.7 us). Taken once per invocation, on the path every invocation pays."""
    table = getattr(threading, "_active", None)
    if isinstance(table, dict):
        return table.copy()
    return {thread.ident for thread in threading.enumerate()}


def _left_over(batch: Batch) -> bool:
    """A thread (new threads carry no context) started by an earlier invocation. A thread pool's
    worker is the exception: it outlives invocations by design and runs what this one gave it."""
    if threading.get_ident() not in batch.older_threads:
        return False
    target = getattr(threading.current_thread(), "_target", None)
    return getattr(target, "__module__", None) != "concurrent.futures.thread"


def open_batch(request_id: str) -> Batch:
    global _current
    _current = Batch(request_id)
    _owner.set(_current)  # the main thread's context, copied by the tasks this invocation starts
    return _current


def adopt(batch: Batch) -> None:
    """The calling thread runs `batch`'s callbacks (on the managed runtime, the extension's
    thread, `lambda_ack.environment.managed`): a `defer` from one of them lands in it, as it does
    from a callback on this runtime's main thread."""
    _owner.set(batch)


def in_progress() -> str:
    """What the process is doing, for a shutdown report: idle, the handler, or a callback."""
    batch = _current
    if batch is None or batch.closed:
        return "while idle; no deferred work pending"
    names = [callback.name for callback in batch.callbacks]
    if not batch.deferring:
        return (
            f"while the handler of request {batch.request_id} was running; deferred callbacks "
            f"registered, not started: {', '.join(names) or '(none)'}"
        )
    running = names[batch.position - 1] if batch.position else "(none)"
    return (
        f"deferred callback {running} was running; not started: "
        f"{', '.join(names[batch.position :]) or '(none)'}"
    )


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
    batch.deferring = True
    if batch.durable and discard_reason is None:
        from lambda_ack.deferred import handoff

        handoff.prepare()
    elif discard_reason is not None:
        batch.durable = False  # discarded work is not handed off, not even at SIGTERM
    i = 0
    try:
        while True:
            with _lock:
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
                with _lock:
                    batch.closed = True
                _skip_rest(callbacks[i:], counts, f"the runtime is exiting on {type(e).__name__}")
                raise
            finally:
                watchdog.clear()
    finally:
        with _lock:
            batch.closed = True
    return counts


def answering() -> None:
    """The current invocation's answer is being sent: from now on its work is owed."""
    if _current is not None:
        _current.answered = True


def hand_off_unfinished(reason: str, within_s: float) -> None:
    """At SIGTERM: every durable callback of the current batch that is running or waiting."""
    batch = _current
    # Only once the answer went out (the caller may have it before its 202 comes back): a
    # handler cut off before it answered leaves work nobody was promised.
    if batch is None or batch.closed or not batch.durable or not batch.answered:
        return
    first = max(batch.position - 1, 0)
    until = time.monotonic() + within_s  # one budget for them all: the grace period's
    for position, callback in enumerate(batch.callbacks[first:], first + 1):
        # A hand-off begun and not settled (the send SIGTERM interrupted, or one still under
        # way on the watchdog's thread) is made again: at least once, never lost.
        if callback.durable and not callback.settled:
            durable_work.hand_off(
                callback, batch, position, reason, until - time.monotonic(), again=True
            )


def _skip_rest(rest: list[Callback], counts: Counts, reason: str) -> None:
    for callback in rest:
        counts.skipped += 1
        log.warning("deferred callback %s skipped: %s", callback.name, reason)
