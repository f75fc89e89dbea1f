"""Graceful shutdown: what happens when Lambda sends SIGTERM before ending the environment.

Lambda sends SIGTERM only to a runtime with at least one registered extension (see
`lambda_ack.environment.extension`), and allows a runtime with an internal extension about 500 ms
before SIGKILL. In that time the runtime reports the deferred work that will not finish (so it can
be found in the logs), hands off the durable callbacks running or waiting
(`lambda_ack.deferred.handoff`), runs the hooks registered with `on_shutdown`, and exits with status
0.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from lambda_ack import deferred, errors, logs, telemetry
from lambda_ack.deferred import phase

# Lambda's grace period for a runtime with an internal extension.
GRACE_MS = 500

log = logs.runtime_log
_hooks: list[Callable[[], object]] = []


def on_shutdown(fn: Callable[[], object]) -> Callable[[], object]:
    """Run `fn()` when the environment shuts down; usable as a decorator.

    Hooks run in registration order within the grace period; one that starts too late is logged
    as skipped. `atexit` handlers do not run on this path: the process ends with `os._exit` so
    that a signal arriving mid-callback cannot be swallowed by the callback's own `except`.
    """
    _hooks.append(fn)
    return fn


def install() -> None:
    """Take SIGTERM, keeping a handler the function's module installed at import (AWS's
    graceful-shutdown sample does): it runs after the runtime's own account, before the hooks."""
    # The C module: `signal` itself builds three enums at import, 0.3 ms of the cold start.
    import _signal

    global _users_handler
    previous = _signal.getsignal(_signal.SIGTERM)
    _users_handler = previous if callable(previous) else None
    _signal.signal(_signal.SIGTERM, _on_sigterm)


_shutting_down = False
_users_handler: Callable[[int, object], object] | None = None


def _on_sigterm(signum: int, frame: object) -> None:
    global _shutting_down
    if _shutting_down:
        return  # a second SIGTERM while the hooks run: they run once, and are running now
    _shutting_down = True
    started = time.monotonic()
    doing = deferred.in_progress()
    if doing.startswith("while idle"):
        log.info("SIGTERM received %s", doing)
    else:
        log.warning("SIGTERM received%s%s", " " if doing.startswith("while") else ": ", doing)
    # Durable work first, with what the grace period allows (less a margin for the exit): it is
    # the work the function said must not be lost; hooks that find no time left are logged.
    left_s = (GRACE_MS - 60) / 1000 - (time.monotonic() - started)
    phase.hand_off_unfinished("the environment is shutting down (SIGTERM)", left_s)
    # Then the telemetry of the invocation SIGTERM cut into (or of the last one): a metric added,
    # an error captured, the span of the callback it interrupted.
    left_ms = GRACE_MS - 60 - (time.monotonic() - started) * 1000
    telemetry.invocation_ended(int(time.time() * 1000 + left_ms), final=True)
    status = _run_users_handler(signum, frame)
    for i, hook in enumerate(_hooks):
        spent_ms = (time.monotonic() - started) * 1000
        name = getattr(hook, "__qualname__", repr(hook))
        if spent_ms >= GRACE_MS:
            skipped = [getattr(h, "__qualname__", repr(h)) for h in _hooks[i:]]
            log.warning("shutdown hooks skipped, grace period spent: %s", ", ".join(skipped))
            break
        try:
            hook()
        except Exception:
            log.exception("shutdown hook %s failed", name)
    log.info("shutdown complete in %.1f ms", (time.monotonic() - started) * 1000)
    logs.flush_streams()
    os._exit(status)


def _run_users_handler(signum: int, frame: object) -> int:
    """The function's own SIGTERM handler, if it had one; the exit status it asks for with
    `sys.exit` (0 otherwise). What it raises is logged: the hooks still run."""
    if _users_handler is None:
        return 0
    try:
        _users_handler(signum, frame)
    except SystemExit as e:
        return errors.exit_status(e.code)
    except Exception:
        log.exception("the function's SIGTERM handler failed")
    return 0
