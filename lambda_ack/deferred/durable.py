"""Durable callbacks: work that can be run again, later, from a description of it, and the
points where the deferred phase hands such work off (`lambda_ack.deferred.handoff`).

`defer(fn, ..., durable=True)` promises that `fn` and its arguments survive being written down:
`fn` is a module-level function that importing its module and looking up its name gives back,
and the arguments are JSON. Both are checked when `defer` is called, where a mistake is one line
of the handler, rather than when the work would have to be handed on and it is too late.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from lambda_ack import json_c, logs
from lambda_ack.deferred.watchdog import watchdog

log = logs.runtime_log
_functions_checked: set[Callable[..., object]] = set()


def encode(fn: Callable[..., object], args: tuple, kwargs: dict) -> str:
    """`fn`'s arguments as JSON, as they are now; TypeError, saying what, unless `fn(*args,
    **kwargs)` can be written down and run again exactly as it was deferred.

    The text is what a hand-off sends, so a callback that later changes the objects it was given
    (adds a `datetime` to a dict) changes nothing of it. Arguments must also come back from JSON
    equal to what they were: `{101: 9.99}` would come back with a string key and a tuple as a
    list, and be replayed wrong on every delivery. ASCII: a lone surrogate or U+FFFE, which SQS
    refuses raw, travels escaped and comes back as it was.

    On the path of every durable `defer`, so the common case is one set lookup, one
    `json.dumps` and one `json.loads`; only a failure goes argument by argument to name the one
    at fault."""
    if fn not in _functions_checked:
        _check_function(fn)
        _functions_checked.add(fn)
    import json  # here, not at start-up: only durable work needs it

    call = [list(args), kwargs]
    try:
        text = json_c.dumps(call, allow_nan=False)
        if json.loads(text) == call:
            return text
    except (TypeError, ValueError, RecursionError):
        pass
    for position, value in enumerate(args, 1):
        _check_json(value, f"argument {position}")
    for name, value in kwargs.items():
        _check_json(value, f"keyword argument {name!r}")
    raise TypeError(  # each argument alone came back; together they do not (never seen)
        "defer(..., durable=True): the arguments do not come back from JSON as they are"
    )


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


def _check_json(value: object, which: str) -> None:
    import json

    try:
        back = json.loads(json_c.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as e:
        raise TypeError(
            f"defer(..., durable=True): {which} is not JSON-serialisable "
            f"({type(value).__name__}: {e}); a durable callback's arguments must be JSON"
        ) from None
    if back != value:
        raise TypeError(
            f"defer(..., durable=True): {which} does not come back from JSON as it is "
            f"({_short(value)} comes back as {_short(back)}); a durable callback's arguments "
            "must be JSON values: dicts with string keys, lists rather than tuples"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def watch(callback, batch, position: int, deadline_ms: int, counts) -> None:
    """The watchdog on `callback`; a durable one still running near the deadline is handed off
    then, early enough for the send to finish before Lambda kills the environment."""
    what = f"deferred callback {callback.name}"
    if not callback.durable:
        watchdog.watch(what, deadline_ms)
        return

    def hand_off_late() -> None:
        left_s = (deadline_ms - time.time() * 1000 - 100) / 1000
        if hand_off(callback, batch, position, "still running near the deadline", left_s):
            counts.handed_off += 1

    watchdog.watch(what, deadline_ms, hand_off_late, HANDOFF_LEAD_MS)


# How long before the deadline a durable callback still running is handed off: a send takes
# tens of milliseconds with the client ready, and the client is made when the phase begins.
HANDOFF_LEAD_MS = 1000
# Re-entrant: SIGTERM's hand-offs run on the main thread, possibly inside one it interrupted.
_claiming = threading.RLock()


def hand_off(
    callback,
    batch,
    position: int,
    reason: str,
    within_s: float = 10.0,
    again: bool = False,
) -> bool:
    """Send `callback` to the hand-off queue, or log it to run again; True once SQS has it.

    Once per callback: the first caller claims it (the watchdog's thread and the main thread may
    both come). `again` makes it once more whatever was begun: at SIGTERM, a send that was cut
    off may or may not have reached SQS, so it is sent again (the idempotency key is the same).
    Never raises: what cannot be sent is logged with what to run."""
    with _claiming:
        if callback.claimed and not again:
            return False
        callback.claimed = True
    from lambda_ack.deferred import handoff

    try:
        body = handoff.message(callback, batch.request_id, position, reason)
        return handoff.hand_off(body, within_s)
    except Exception:
        log.exception(
            "deferred callback %s could not be handed off (%s); to run it again: %s with "
            "the arguments %s",
            callback.name,
            reason,
            name_of(callback.fn),
            callback.encoded,
        )
        return False
    finally:
        callback.settled = True
