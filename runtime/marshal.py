"""Events in, results out: JSON the way the managed Python runtime (3.12+) reads and writes it.

- Events with a JSON content type are parsed; any other content type reaches the handler as
  bytes. A body that does not parse is a `Runtime.UnmarshalError`, never a crash.
- `bytes` results are posted as they are (`application/unknown`); everything else is JSON with
  non-ASCII kept as UTF-8 and NaN/Infinity allowed. `Decimal` (what boto3's DynamoDB layer hands
  out) is written as a number, as the managed runtime does; digits beyond float precision are
  lost here, since the standard library cannot write raw JSON numbers.
"""

from __future__ import annotations

import json

from runtime.errors import MARSHAL_ERROR, UNMARSHAL_ERROR, Fault


def _decimal(obj: object) -> object:
    from decimal import Decimal  # only reached for objects json cannot write itself

    if isinstance(obj, Decimal):
        if obj.is_nan():
            return float("nan")
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=True, default=_decimal).encode


def decode_event(body: bytes, content_type: str) -> object:
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return body
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError
        raise Fault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {e}") from None


def encode_result(result: object) -> tuple[bytes, str]:
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _encode(result).encode("utf-8"), "application/json"
    except (TypeError, ValueError, RecursionError) as e:  # incl. lone surrogates
        raise Fault(MARSHAL_ERROR, f"Unable to marshal response: {e}") from None
