"""At most once: the keys of work already done (a Slack request, a handed-off callback's delivery),
claimed in a store that says whether this is the first time.

Without configuration the store is this process's memory (`lambda_ack.dedupe.memory`): it knows
only what this environment has seen. With `LAMBDA_RUNTIME_DEDUPE_TABLE` naming a DynamoDB table,
every environment of the function claims in that one table (`lambda_ack.dedupe.table`), so a
retry routed to another environment, or arriving after a cold start, is recognised too.
"""

from __future__ import annotations

import os
from typing import Protocol

TABLE_VARIABLE = "LAMBDA_RUNTIME_DEDUPE_TABLE"


class Store(Protocol):
    """What the duplicate guard needs of a store; `SlackApp(seen=...)` takes any such object."""

    def claim(self, key: str, ttl_s: int | None = None) -> bool:
        """True the first time `key` is claimed (do the work), False while a claim lives."""

    def release(self, key: str) -> None:
        """Give the claim back: the work failed, so the next attempt should do it."""

    def keep(self, key: str, ttl_s: int) -> None:
        """Make this environment's live claim of `key` last `ttl_s` from now: the work is done."""


_table: Store | None = None
_memory: Store | None = None


def table_store() -> Store | None:
    """The configured table's store, one per process (one connection, one worker thread), or
    None. boto3 is never imported: the table is reached by `lambda_ack.dedupe.dynamodb`."""
    global _table
    if _table is None and os.environ.get(TABLE_VARIABLE):
        from lambda_ack.dedupe.table import TableSeenRequests

        _table = TableSeenRequests(os.environ[TABLE_VARIABLE])
    return _table


def app_store() -> Store:
    """An app's store when it is given none: the table when configured; otherwise memory of its
    own, so two apps in one process (or in one test run) do not see each other's requests."""
    from lambda_ack.dedupe.memory import SeenRequests

    return table_store() or SeenRequests()


def process_store() -> Store:
    """The store for keys anything in this process may claim (a handed-off callback's): the
    table when configured, otherwise one memory for the whole process."""
    global _memory
    table = table_store()
    if table is not None:
        return table
    if _memory is None:
        from lambda_ack.dedupe.memory import SeenRequests

        _memory = SeenRequests()
    return _memory
