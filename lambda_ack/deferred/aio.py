"""Awaiting coroutines from async handlers and async deferred callbacks.

One event loop lives for the whole process, created on first use: `asyncio` costs ~15 ms to
import, which a sync-only function should not pay at cold start, and a loop that survives between
invocations lets async clients (connection pools, sessions) be reused like sync ones.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

from lambda_ack import logs

_loop = None
log = logs.runtime_log
_CANCEL_GRACE_S = 0.1
# Tasks that live as long as the environment (an ASGI app's lifespan, `lambda_ack.web.lifespan`):
# not work an invocation left behind, so `settle` leaves them waiting.
_resident: set = set()


def resident(task: object) -> None:
    """Mark `task` as the environment's, not an invocation's: `settle` does not wait for it or
    cancel it."""
    _resident.add(task)
    task.add_done_callback(_resident.discard)  # type: ignore[attr-defined]


def run(awaitable: Awaitable[object]) -> object:
    global _loop
    if _loop is None or _loop.is_closed():
        import asyncio

        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop.run_until_complete(awaitable)


def settle(deadline_ms: int, margin_ms: int) -> None:
    """Tasks an async handler or callback started and never awaited, run before the next event.

    Left alone they would run during a later invocation (or never, once Lambda freezes the
    environment). They get until the deadline's safety margin; each that fails is logged with its
    traceback, each still unfinished then is cancelled and logged by name, like a skipped
    callback.
    """
    loop = _loop
    if loop is None or loop.is_closed():
        return
    import asyncio

    pending = {t for t in asyncio.all_tasks(loop) if not t.done() and t not in _resident}
    if not pending:
        return
    left_s = (deadline_ms - margin_ms) / 1000 - time.time()
    if left_s > 0:
        finished, pending = loop.run_until_complete(asyncio.wait(pending, timeout=left_s))
        for task in finished:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("asyncio task %s failed", task.get_name(), exc_info=error)
    for task in pending:
        task.cancel()
        log.warning(
            "asyncio task %s cancelled: still running at the deadline's %d ms safety margin",
            task.get_name(),
            margin_ms,
        )
    if pending:  # a moment to act on the cancellation; one that ignores it is said to
        _, stubborn = loop.run_until_complete(asyncio.wait(pending, timeout=_CANCEL_GRACE_S))
        for task in stubborn:
            log.warning(
                "asyncio task %s ignored its cancellation; it may run during a later "
                "invocation, where defer() from it is refused",
                task.get_name(),
            )
