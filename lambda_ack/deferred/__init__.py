"""Deferred callbacks: work registered during an invocation, run after its response is posted.

The rule users rely on: every registered callback either runs, fails with a logged traceback, or
is logged as skipped or discarded with the reason. Nothing is dropped silently, so `defer` refuses
(raises) when there is no invocation to attach the work to, instead of accepting it and losing it.

This module holds the model (`defer`, a batch per invocation, whose code may add to it); the
phase that runs a batch after the answer is `lambda_ack.deferred.phase`.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Container

from lambda_ack import telemetry

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
        "captured",
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
        # What the tools in use took from the deferring code (`lambda_ack.telemetry.capture`).
        self.captured = telemetry.capture()

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
        "durable_execution",
    )

    def __init__(self, request_id: str) -> None:
        self.callbacks: list[Callback] = []
        self.closed = False
        self.position = 0  # callbacks before this one have been dealt with or are running
        self.request_id = request_id
        self.deferring = False  # False while the handler runs
        self.durable = False  # holds a durable callback: the hand-off client gets ready
        self.answered = False  # the answer is on its way to the caller: the work is owed
        # The ARN of the durable execution this invocation runs a step of, if it does
        # (`lambda_ack.durable_functions`): then nothing may be deferred past its answer.
        self.durable_execution: str | None = None
        # Threads alive when the invocation began: any but a pool worker belongs to an earlier one.
        self.older_threads = _thread_idents()


_current: Batch | None = None
# The batch of the invocation whose code is running, in the context asyncio copies into every
# task it creates: a task started by an earlier invocation still names that one's batch.
_owner: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("batch", default=None)
# Taken to append to a batch and to close it: a `defer` from another thread either lands before
# the batch closes (and runs) or finds it closed (and raises), never in between.
lock = threading.Lock()


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
    encoded = None
    if durable:  # its module is loaded only by functions that declare durable work
        from lambda_ack.deferred import durable as durable_work

        encoded = durable_work.encode(fn, args, kwargs)
    callback = Callback(fn, args, kwargs, always, retries, encoded)
    with lock:
        batch = caller_batch()
        accepted = batch is not None and not batch.closed and batch.durable_execution is None
        if accepted:
            batch.callbacks.append(callback)
            batch.durable |= durable
    if not accepted and batch is not None and batch.durable_execution is not None:
        from lambda_ack import durable_functions

        raise RuntimeError(durable_functions.refusal("defer()"))
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


def current() -> Batch | None:
    """The batch of the invocation being served (or last served)."""
    return _current


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


def answering() -> None:
    """The current invocation's answer is being sent: from now on its work is owed."""
    if _current is not None:
        _current.answered = True
