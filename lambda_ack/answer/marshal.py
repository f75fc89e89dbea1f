"""Events in, results out: JSON the way the managed Python runtime (3.12+) reads and writes it.

- Events with a JSON content type are parsed; any other content type reaches the handler as
  bytes. A body that does not parse is a `Runtime.UnmarshalError`, never a crash.
- `bytes` results are posted as they are (`application/unknown`); everything else is JSON with
  non-ASCII kept as UTF-8 and NaN/Infinity allowed. `Decimal` (what boto3's DynamoDB layer hands
  out) is written exactly as the managed runtime writes it: its own text as a number (`19.90`,
  `1E+2`, `Infinity`, every digit kept), NaN as `NaN`.
"""

from __future__ import annotations

from lambda_ack import json_c
from lambda_ack.errors import MARSHAL_ERROR, UNMARSHAL_ERROR, Fault


class _HasDecimal(Exception):
    """Raised by the fast path at the first Decimal: the result is encoded again, with them."""


def _no_decimal(obj: object) -> object:
    from decimal import Decimal  # only reached for objects json cannot write itself

    if isinstance(obj, Decimal):
        raise _HasDecimal
    return json_c.not_serializable(obj)


def _encode_with_decimals(result: object) -> str:
    """The standard library cannot write raw JSON numbers, so each Decimal is written as a
    placeholder string first (a private-use character and a random token, which no value of the
    result can hold by chance) and its own text put in its place afterwards."""
    import secrets
    from decimal import Decimal

    token = "\ue000" + secrets.token_hex(8)
    texts: list[str] = []

    def default(obj: object) -> object:
        if isinstance(obj, Decimal):
            if obj.is_nan():
                return float("nan")
            texts.append(str(obj))
            return f"{token}{len(texts) - 1}"
        return json_c.not_serializable(obj)

    text = json_c.dumps(result, ensure_ascii=False, default=default)
    for i, decimal_text in enumerate(texts):
        text = text.replace(f'"{token}{i}"', decimal_text, 1)
    return text


def decode_event(body: bytes, content_type: str) -> object:
    if (
        content_type != "application/json"
        and content_type.split(";", 1)[0].strip().lower() != "application/json"
    ):
        return body
    try:
        text = body.decode()
        value, end = json_c.scan(text, 0)
        if end == len(text):
            return value
    # ValueError: also a non-UTF-8 body; SystemError: a malformed one (`json_c.scan`).
    except (ValueError, RecursionError, StopIteration, SystemError):
        pass
    import json

    try:
        return json.loads(body)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError
        raise Fault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {e}") from None


def encode_result(result: object) -> tuple[bytes, str]:
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        try:
            text = json_c.dumps(result, ensure_ascii=False, default=_no_decimal)
        except _HasDecimal:
            text = _encode_with_decimals(result)
        return text.encode("utf-8"), "application/json"
    except (TypeError, ValueError, RecursionError) as e:  # incl. lone surrogates
        raise Fault(MARSHAL_ERROR, f"Unable to marshal response: {e}") from None
