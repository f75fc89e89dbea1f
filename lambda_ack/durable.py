"""Durable callbacks: work that can be run again, later, from a description of it, and the
points where the deferred phase hands such work off (`lambda_ack.handoff`).

`defer(fn, ..., durable=True)` promises that `fn` and its arguments survive being written down:
`fn` is a module-level function that importing its module and looking up its name gives back,
and the arguments are JSON. Both are checked when `defer` is called, where a mistake is one line
of the handler, rather than when the work would have to be handed on and it is too late.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from lambda_ack.watchdog import watchdog

_functions_checked: set[Callable[..., object]] = set()


def check(fn: Callable[..., object], args: tuple, kwargs: dict) -> None:
    """TypeError, saying what, unless `fn(*args, **kwargs)` can be written down and run again.

    On the path of every durable `defer`, so the common case is one set lookup and one
    `json.dumps`; only a failure goes argument by argument to name the one at fault."""
    if fn not in _functions_checked:
        _check_function(fn)
        _functions_checked.add(fn)
    try:
        _dumps((args, kwargs))
        return
    except (TypeError, ValueError):
        pass
    for position, value in enumerate(args, 1):
        _check_json(value, f"argument {position}")
    for name, value in kwargs.items():
        _check_json(value, f"keyword argument {name!r}")


def name_of(fn: Callable[..., object]) -> str:
    """`module:function`, as a hand-off message names it."""
    return f"{fn.__module__}:{fn.__qualname__}"


def _check_function(fn: Callable[..., object]) -> None:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    if getattr(fn, "__self__", None) is not None and not isinstance(fn.__self__, type(sys)):
        problem = "a bound method"
    elif qualname == "<lambda>" or "<lambda>" in qualname:
        problem = "a lambda"
    elif "<locals>" in qualname:
        problem = "a function defined inside another function"
    elif not module or not qualname or "." in qualname:
        problem = f"not a module-level function ({type(fn).__name__} {qualname or fn!r})"
    elif getattr(sys.modules.get(module), qualname, None) is not fn:
        problem = f"{module}.{qualname} does not name it"
    else:
        return
    raise TypeError(
        f"defer(..., durable=True) needs a module-level function it can import by name, got "
        f"{problem}: a durable callback may have to run again in another invocation"
    )


_dumps = json.JSONEncoder(allow_nan=False).encode


def _check_json(value: object, which: str) -> None:
    try:
        _dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"defer(..., durable=True): {which} is not JSON-serialisable "
            f"({type(value).__name__}: {e}); a durable callback's arguments must be JSON"
        ) from None


def watch(callback, batch, position: int, deadline_ms: int, counts) -> None:
    """The watchdog on `callback`; a durable one still running near the deadline is handed off
    then, early enough for the send to finish before Lambda kills the environment."""
    what = f"deferred callback {callback.name}"
    if not callback.durable:
        watchdog.watch(what, deadline_ms)
        return

    def hand_off_late() -> None:
        counts.handed_off += 1
        left_s = (deadline_ms - time.time() * 1000 - 100) / 1000
        hand_off(callback, batch, position, 1, "still running near the deadline", left_s)

    watchdog.watch(what, deadline_ms, hand_off_late, HANDOFF_LEAD_MS)


# How long before the deadline a durable callback still running is handed off: a send takes
# tens of milliseconds with the client ready, and the client is made when the phase begins.
HANDOFF_LEAD_MS = 1000


def hand_off(
    callback,
    batch,
    position: int,
    attempts: int,
    reason: str,
    within_s: float = 10.0,
) -> None:
    from lambda_ack import handoff

    callback.handed = True
    body = handoff.message(callback, batch.request_id, position, attempts, reason)
    handoff.hand_off(body, within_s)
