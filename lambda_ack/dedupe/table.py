"""At most once across environments: each key claimed in a DynamoDB table, one conditional write.

Slack sends its retry to whichever environment is free, and when the first attempt is still
running (the usual reason it was late, a cold start among them) that is another environment:
only a store they share can tell. A claim is a `PutItem` that succeeds only if no live item has
the key; the item carries an expiry (`expires_at`, the table's TTL attribute) and a claim id, so
a release (the listener failed: Slack's retry must get its chance) deletes only this claim.

The acknowledgement is never late because of the table: a claim gets `bound_ms` in all (the
call on a worker thread, its socket timeouts set to the same bound). When the table does not
answer in time, or refuses (no such table, no permission), the request is checked in this
environment's memory instead, with a WARNING that says why: a duplicate may then run, but no
request waits or fails because of the guard. The calls go through `lambda_ack.dedupe.dynamodb`,
the standard library's HTTPS and a signature of its own: no SDK to import or to ship.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late

from lambda_ack import logs
from lambda_ack.dedupe.dynamodb import TIMED_OUT, DynamoDB, DynamoDBError
from lambda_ack.dedupe.memory import LIMIT, SeenRequests

log = logs.runtime_log

KEY, CLAIM, EXPIRES = "key", "claim", "expires_at"
# Past Slack's last retry (about 5 minutes after the request) and its 5-minute signature window.
DEFAULT_TTL_S = 3600
DEFAULT_BOUND_MS = 500


class TableSeenRequests:
    """`SeenRequests`' methods, over the DynamoDB table `table` (partition key `key`, a string;
    TTL on `expires_at`): what `LAMBDA_RUNTIME_DEDUPE_TABLE` gives `SlackApp` and the Bolt
    adapter, or `SlackApp(seen=TableSeenRequests("my-table"))`."""

    def __init__(
        self, table: str, *, ttl_s: int = DEFAULT_TTL_S, bound_ms: int = DEFAULT_BOUND_MS
    ) -> None:
        self.table = table
        self.ttl_s = ttl_s
        self.bound_s = bound_ms / 1000
        self._memory = SeenRequests()  # what was claimed here; the fallback when unreachable
        # key -> (claim id, its ttl) of the newest claims made here, for a release or a keep,
        # which come from the invocation that claimed: bounded as the memory is, since a
        # claim that succeeds is never released and the environment may live for days.
        self._claims: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedupe-table")
        self._client = DynamoDB(self.bound_s)
        _every.add(self)

    def claim(self, key: str, ttl_s: int | None = None) -> bool:
        """True when this call claimed `key` (handle the request), False when a live claim of it
        exists (skip it). Within `bound_ms`, whatever the table does."""
        claim_id = uuid.uuid4().hex
        ttl_s = ttl_s or self.ttl_s
        now = int(time.time())
        try:
            self._call(
                "PutItem",
                TableName=self.table,
                Item=_item(key, claim_id, now + ttl_s),
                ConditionExpression="attribute_not_exists(#k) OR #e < :now",
                ExpressionAttributeNames={"#k": KEY, "#e": EXPIRES},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except _Duplicate:
            return False
        except _Unreachable as e:
            log.warning(
                "duplicate guard: table %s %s; %s is checked in this environment's memory only",
                self.table,
                e,
                key,
            )
            return self._memory.claim(key)
        self._memory.claim(key)
        self._claims[key] = (claim_id, ttl_s)
        if len(self._claims) > LIMIT:
            self._claims.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        """Forget this environment's claim of `key`: its handling failed, a retry may run it."""
        self._memory.release(key)
        if key not in self._claims:
            return
        claim_id, ttl_s = self._claims.pop(key)
        try:
            self._call(
                "DeleteItem",
                TableName=self.table,
                Key={KEY: {"S": key}},
                ConditionExpression="#c = :c",
                ExpressionAttributeNames={"#c": CLAIM},
                ExpressionAttributeValues={":c": {"S": claim_id}},
            )
        except _Duplicate:
            pass  # expired meanwhile, and claimed again elsewhere: not ours to delete
        except _Unreachable as e:
            log.warning(
                "duplicate guard: table %s %s; %s stays claimed until it expires (%d s), so a "
                "retry of it is skipped meanwhile",
                self.table,
                e,
                key,
                ttl_s,
            )

    def keep(self, key: str, ttl_s: int) -> None:
        """This environment's claim of `key`, made to last `ttl_s` from now: its work is done, so
        the claim outlives the short lease it was taken with."""
        if key not in self._claims:
            return
        claim_id, _ = self._claims.pop(key)  # done: nothing will release it
        try:
            self._call(
                "PutItem",
                TableName=self.table,
                Item=_item(key, claim_id, int(time.time()) + ttl_s),
                ConditionExpression="#c = :c",
                ExpressionAttributeNames={"#c": CLAIM},
                ExpressionAttributeValues={":c": {"S": claim_id}},
            )
        except _Duplicate:
            log.warning(
                "duplicate guard: the claim of %s had expired before its work was done; a later "
                "attempt may do it again",
                key,
            )
        except _Unreachable as e:
            log.warning(
                "duplicate guard: table %s %s; the claim of %s ends with its lease, so a later "
                "attempt may do its work again",
                self.table,
                e,
                key,
            )

    def _call(self, operation: str, **request: object) -> object:
        future = self._worker.submit(self._client.call, operation, request)
        late = _Unreachable(f"did not answer within {self.bound_s * 1000:.0f} ms")
        try:
            return future.result(self.bound_s)
        except Late:  # the caller stopped waiting first
            raise late from None
        except DynamoDBError as e:
            if e.code == "ConditionalCheckFailedException":
                raise _Duplicate from None
            if e.code == TIMED_OUT:  # the worker's socket gave up first: the same event
                raise late from None
            raise _Unreachable(f"failed ({e})") from None


def _item(key: str, claim_id: str, expires_at: int) -> dict:
    return {KEY: {"S": key}, CLAIM: {"S": claim_id}, EXPIRES: {"N": str(expires_at)}}


class _Duplicate(Exception):
    """A live claim of the key exists."""


class _Unreachable(Exception):
    """The table could not say in time; the message says how it failed."""


# Every table store in the process, for `restored`.
_every: weakref.WeakSet[TableSeenRequests] = weakref.WeakSet()


def restored() -> None:
    """SnapStart: the claims made before the snapshot are not this environment's, and the
    connection (and any credentials it was signed with) belong to the one snapshotted: each
    store forgets its claims and reconnects with the next call."""
    for store in list(_every):
        store._claims.clear()
        store._client.reconnect()
