"""At most once per environment: keys claimed in this process's memory.

What the duplicate guard uses without a table: a retry that lands in another environment, or
after a cold start, is not recognised (`lambda_ack.dedupe.table` covers those).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

# How many keys an environment remembers: far more than arrive within Slack's retry window.
LIMIT = 4096


class SeenRequests:
    """The newest `limit` keys claimed in this process; older ones are forgotten."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        _every.add(self)

    def claim(self, key: str, ttl_s: int | None = None) -> bool:
        """True the first time `key` is claimed (handle the request), False after (skip it).
        `ttl_s` is the table's business: memory keeps the newest `limit` keys."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        """Forget `key`: its handling failed, so a retry should be handled again."""
        self._keys.pop(key, None)

    def keep(self, key: str, ttl_s: int) -> None:
        """Nothing to do: memory keeps a key until newer ones push it out."""


# Every memory in the process, for `restored`.
_every: weakref.WeakSet[SeenRequests] = weakref.WeakSet()


def restored() -> None:
    """SnapStart: every environment restored from one snapshot would share what the memories
    held when it was taken (a warm-up's keys); each starts empty instead."""
    for memory in list(_every):
        memory._keys.clear()
