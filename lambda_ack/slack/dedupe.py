"""Slack's requests as the duplicate guard keys them (`lambda_ack.dedupe` stores the keys).

Slack retries an Events API request that was not answered 2xx within 3 seconds (header
`X-Slack-Retry-Num`), and a signed request can be replayed for 5 minutes. Both carry a key an
environment may already have handled: the `event_id` of an event, otherwise the SHA-256 of the
body (slash commands and interactions hold a fresh `trigger_id`, so two genuine ones never share
a body).
"""

from __future__ import annotations

import hashlib

from lambda_ack.dedupe import Store, app_store
from lambda_ack.dedupe.memory import SeenRequests

__all__ = ["SeenRequests", "Store", "app_store", "key_of"]


def key_of(event_id: object, raw_body: bytes) -> str:
    """A request's key: "event:<event_id>" for an Events API request, else "body:<SHA-256 of
    the raw body>"."""
    if isinstance(event_id, str) and event_id:
        return f"event:{event_id}"
    return "body:" + hashlib.sha256(raw_body).hexdigest()
