"""Durable callbacks: work that can be run again, later, from a description of it.

`defer(fn, ..., durable=True)` promises that `fn` and its arguments survive being written down:
`fn` is a module-level function that importing its module and looking up its name gives back,
and the arguments are JSON. Both are checked when `defer` is called, where a mistake is one line
of the handler, rather than when the work would have to be handed on and it is too late.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

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
