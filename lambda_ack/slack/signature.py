"""Slack's request signature, checked on the exact bytes Slack sent before anything else is read.

Written with `hmac.compare_digest` rather than `slack_sdk.signature` for two reasons: it keeps the
~60 ms `slack_sdk` import out of the acknowledgement path, and every way a request can be wrong
ends in the one exception below (`SignatureVerifier` raises `ValueError` on a non-numeric
timestamp). Each header must be sent exactly once: a second `X-Slack-Signature`, whether API
Gateway lists it in `multiValueHeaders`, a format 2.0 event joins it with a comma, or the event
spells the name in two cases, is refused instead of choosing one of the values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from lambda_ack.web.http_event import Request

MAX_CLOCK_SKEW_S = 5 * 60  # Slack's rule, applied to both past and future timestamps
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class InvalidSignature(Exception):
    """The request cannot be trusted; the message is a short reason, safe to answer with."""


def verify(request: Request, secret: str, now: float | None = None) -> None:
    """Return if Slack signed `request` with `secret` within 5 minutes of `now`; else raise."""
    timestamp = _single(request, "x-slack-request-timestamp")
    signature = _single(request, "x-slack-signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("malformed X-Slack-Request-Timestamp")
    if not _SIGNATURE.fullmatch(signature):
        raise InvalidSignature("malformed X-Slack-Signature")
    skew = int(timestamp) - (time.time() if now is None else now)
    if skew < -MAX_CLOCK_SKEW_S:
        raise InvalidSignature("stale request: timestamp more than 5 minutes old")
    if skew > MAX_CLOCK_SKEW_S:
        raise InvalidSignature("timestamp more than 5 minutes in the future")
    base = b"v0:" + timestamp.encode() + b":" + request.body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignature("signature mismatch")


def _single(request: Request, name: str) -> str:
    values = request.headers.get_all(name)
    if not values:
        raise InvalidSignature(f"missing {name}")
    if len(values) > 1:
        raise InvalidSignature(f"{name} sent more than once")
    return values[0]
