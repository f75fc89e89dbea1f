"""Awaiting coroutines from async handlers and async deferred callbacks.

One event loop lives for the whole process, created on first use: `asyncio` costs ~15 ms to
import, which a sync-only function should not pay at cold start, and a loop that survives between
invocations lets async clients (connection pools, sessions) be reused like sync ones.
"""

from __future__ import annotations

from collections.abc import Awaitable

_loop = None


def run(awaitable: Awaitable[object]) -> object:
    global _loop
    if _loop is None or _loop.is_closed():
        import asyncio

        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop.run_until_complete(awaitable)
