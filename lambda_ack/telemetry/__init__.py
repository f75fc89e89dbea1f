"""The invocation's telemetry, deferred work included: one flush point, and the tools' spans.

Metrics libraries, tracers and error trackers flush when the handler returns, which on this
runtime is before the interesting part. So the runtime gives them one place after the deferred
phase, before the next `/next` (and before an exit, at the deadline watchdog, and at SIGTERM),
where the whole invocation's telemetry leaves the process: `invocation_ended`. Libraries and
users hook it with `on_invocation_end`.

The tools a function already uses get more (`lambda_ack.telemetry.tools`): each deferred
callback becomes a span of the invocation's trace, its failure an error event with the request
id. An integration is imported only once its tool has been imported by the function, so a
function without one pays a length check of `sys.modules` per invocation.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from lambda_ack import logs

log = logs.runtime_log

# Each flush, of each tool and hook, gets at most this long, and never the time past the
# deadline less a margin for the runtime's own last lines.
FLUSH_LIMIT_S = 2.0
_DEADLINE_MARGIN_MS = 100

_hooks: list[Callable[[], object]] = []
# The integrations of the tools in use, in the order they were noticed (`tools.discover`).
in_use: list[object] = []
_modules_seen = 0


def on_invocation_end(fn: Callable[[], object]) -> Callable[[], object]:
    """Run `fn()` once each invocation's deferred work is over, before the next event is asked
    for; usable as a decorator.

    The place to flush what a library buffers (a metrics client, a span exporter): on this
    runtime the handler's return is not the end of the invocation. It also runs before the
    process exits, when the deadline watchdog finds a callback still running, and at SIGTERM.
    A hook that raises is logged; the others still run.
    """
    _hooks.append(fn)
    return fn


def notice_tools() -> None:
    """Look for newly imported tools; cheap (a length check) unless a module was imported."""
    global _modules_seen
    seen = len(sys.modules)
    if seen != _modules_seen:
        _modules_seen = seen
        from lambda_ack.telemetry import tools

        in_use.extend(tools.discover(in_use))


def capture() -> tuple | None:
    """What each tool takes from the code that calls `defer` (a tracer's current span), in the
    order of `in_use`; None when no tool is in use."""
    return tuple(map(_captured_by, in_use)) if in_use else None


def _captured_by(integration: object) -> object:
    try:
        return integration.capture()
    except Exception:  # a tool's failure never fails the user's `defer`: no parent, then
        log.exception("telemetry: %s failed at defer", type(integration).__name__)
        return None


def observed(callback: object, attempt: int, run: Callable[[], object]) -> object:
    """`run()`, one attempt of `callback`, inside each tool's span or scope for it. A tool whose
    span cannot begin is logged and left out of this attempt: the callback still runs."""
    from contextlib import ExitStack

    captured = callback.captured or ()
    with ExitStack() as scopes:
        for i, integration in enumerate(in_use):
            taken = captured[i] if i < len(captured) else None  # None: deferred before noticed
            try:
                scopes.enter_context(integration.observe(callback, attempt, taken))
            except Exception:
                name = type(integration).__name__
                log.exception("telemetry: %s could not observe a callback", name)
        return run()


def invocation_ended(deadline_ms: int | None, final: bool = False) -> None:
    """Flush every tool in use, then run the `on_invocation_end` hooks. `final`: the process is
    about to end (SIGTERM): spans still open are closed as interrupted first. Never raises."""
    if not in_use and not _hooks:
        return
    for integration in in_use:
        _run(integration.flush, _budget_s(deadline_ms), final, name=type(integration).__name__)
    for hook in _hooks:
        _run(hook, name=getattr(hook, "__qualname__", repr(hook)))


def _budget_s(deadline_ms: int | None) -> float:
    if deadline_ms is None:
        return FLUSH_LIMIT_S
    left_s = (deadline_ms - _DEADLINE_MARGIN_MS - time.time() * 1000) / 1000
    return max(0.0, min(FLUSH_LIMIT_S, left_s))


def _run(fn: Callable[..., object], *args: object, name: str) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("telemetry flush %s failed", name)
