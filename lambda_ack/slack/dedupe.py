"""At most once per environment: the guard against Slack's retries and replayed requests.

Slack retries an Events API request that was not answered 2xx within 3 seconds (header
`X-Slack-Retry-Num`), and a signed request can be replayed for 5 minutes. Both carry a key this
environment may already have handled: the `event_id` of an event, otherwise the SHA-256 of the
body (slash commands and interactions hold a fresh `trigger_id`, so two genuine ones never share
a body). The store is this process's memory: a retry that lands in another environment, or after
a cold start, is not recognised. `SlackApp(seen=...)` takes any object with the same two
methods, for example one backed by a DynamoDB conditional write, to cover those too.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict


def key_of(event_id: object, raw_body: bytes) -> str:
    """A request's key: "event:<event_id>" for an Events API request, else "body:<SHA-256 of
    the raw body>"."""
    if isinstance(event_id, str) and event_id:
        return f"event:{event_id}"
    return "body:" + hashlib.sha256(raw_body).hexdigest()


class SeenRequests:
    """The newest `limit` keys claimed in this process; older ones are forgotten."""

    def __init__(self, limit: int = 4096) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def claim(self, key: str) -> bool:
        """True the first time `key` is claimed (handle the request), False after (skip it)."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        """Forget `key`: its handling failed, so a retry should be handled again."""
        self._keys.pop(key, None)
