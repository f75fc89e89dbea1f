"""JSON through the C half of the standard library's `json` (`_json`), without the package.

The `json` package compiles six regular expressions when imported, which with `re` and `enum`
cost about 4 ms of every cold start (measured with the benchmark's trivial handler). The runtime
needs only what `_json` does in C: write a value, read one. Importing nothing when it writes also
keeps the runtime's own error reports working after a handler has emptied `sys.path`.
"""

from __future__ import annotations

from _json import encode_basestring, encode_basestring_ascii, make_encoder, make_scanner
from collections.abc import Callable

__all__ = ["dumps", "encode_basestring", "encode_basestring_ascii", "not_serializable", "scan"]


def dumps(
    value: object,
    *,
    ensure_ascii: bool = True,
    allow_nan: bool = True,
    default: Callable[[object], object] | None = None,
) -> str:
    """`json.dumps(value, ensure_ascii=..., allow_nan=..., default=...)`, with its other
    defaults. The encoder is made per call: its dict of the containers being written must start
    empty, and a failed pass leaves entries behind."""
    encode = encode_basestring_ascii if ensure_ascii else encode_basestring
    encoder = make_encoder(
        {}, default or not_serializable, encode, None, ": ", ", ", False, False, allow_nan
    )
    return "".join(encoder(value, 0))


def not_serializable(obj: object) -> object:
    """What `json.dumps` raises for an object it cannot write (its `default`)."""
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class _Defaults:
    """What the C scanner reads from `json.JSONDecoder()`: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


# `scan(text, index)`: the JSON value at `index` and where it ends, as `json.loads` reads it;
# StopIteration when no value starts there. Its other errors are `json.decoder.JSONDecodeError`
# once `json.decoder` is imported, a SystemError until then: a caller that wants the message
# reads the text again with `json.loads`.
scan = make_scanner(_Defaults)
