"""The hand-off's way back: the same function consuming its queue (`lambda_ack.deferred.handoff`).

In an SQS event, the runtime's own messages (marked by an attribute, signed with the function's
key) are taken out and run, each its own record; the other records go to the function's handler.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from lambda_ack import logs
from lambda_ack.deferred.handoff import (
    ATTRIBUTE,
    ATTRIBUTE_VALUE,
    KEY_VARIABLE,
    SIGNATURE,
    signature,
)
from lambda_ack.errors import PROCESS_EXITS

log = logs.runtime_log


class HandedOff:
    """What a callback run from the queue can know (`runtime.handed_off()`), and `once()`."""

    __slots__ = ("attempt", "idempotency_key", "request_id", "registered_at", "claimed", "_lease")

    def __init__(
        self, attempt: int, idempotency_key: str, request_id: str, registered_at, lease_s: int
    ):
        self.attempt = attempt  # counting every attempt since it was first registered
        self.idempotency_key = idempotency_key  # the same for every delivery of this work
        self.request_id = request_id  # the invocation that registered it
        self.registered_at = registered_at  # epoch seconds
        self.claimed = False
        self._lease = lease_s

    def once(self) -> bool:
        """True when this delivery is the one to do the work: `if not runtime.handed_off().once():
        return` makes a callback run once however often SQS delivers it.

        The idempotency key is claimed in the duplicate guard's store (the
        `LAMBDA_RUNTIME_DEDUPE_TABLE` table, shared by every environment; without one, this
        environment's memory). The claim is a lease that ends shortly after this invocation's
        deadline, made to last 14 days only when the callback returns: a delivery that fails or
        exits gives it back, and one that the deadline kills lets it lapse, so the next delivery
        does the work instead of finding it claimed by a process that is gone."""
        from lambda_ack.dedupe import process_store

        claimed = process_store().claim(_claim_key(self.idempotency_key), ttl_s=self._lease)
        self.claimed = self.claimed or claimed
        return claimed

    def settle(self, done: bool) -> None:
        """After the callback: its claim kept for good when `done`, given back otherwise."""
        if not self.claimed:
            return
        from lambda_ack.dedupe import process_store

        key = _claim_key(self.idempotency_key)
        if done:
            process_store().keep(key, CLAIM_TTL_S)
        else:
            process_store().release(key)


# SQS keeps a message for at most 14 days: no delivery of it comes later than that.
CLAIM_TTL_S = 14 * 24 * 3600
# A claim's lease outlives the invocation's deadline by this much (clocks of two environments
# may differ a little); SQS redelivers only after the queue's visibility timeout, much later.
LEASE_MARGIN_S = 30


def _claim_key(idempotency_key: str) -> str:
    return f"handoff:{idempotency_key}"


_running: HandedOff | None = None


def handed_off() -> HandedOff | None:
    """The hand-off being run, in a callback the runtime runs from its queue; None otherwise."""
    return _running


def consuming(handler: Callable[..., object]) -> Callable[..., object]:
    """`handler`, with the runtime's own SQS messages taken out of its events and run.

    Each of them is its own record: whatever it raises (`asyncio.CancelledError` too) is that
    record's `batchItemFailures` entry, and the others run. One that asks the process to exit
    (`SystemExit`, `KeyboardInterrupt`) is obeyed after the answer: it and every record not run
    yet (the function's own records too) are reported for redelivery, and the runtime exits once
    the answer is posted."""

    def handle(event: object, context: object) -> object:
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list) or not any(map(_is_ours, records)):
            return handler(event, context)
        failures: list[dict] = []
        exiting: BaseException | None = None
        lease_s = _lease_s(context)
        for record in filter(_is_ours, records):
            if exiting is None:
                try:
                    if _run(record, lease_s):
                        continue
                except PROCESS_EXITS as e:
                    exiting = e
            else:
                log.warning(
                    "hand-off message %s not run: the runtime is exiting; SQS delivers it again",
                    record.get("messageId"),
                )
            failures.append({"itemIdentifier": record.get("messageId")})
        others = [record for record in records if not _is_ours(record)]
        if others and exiting is not None:
            log.warning(
                "%d records not passed to the handler: the runtime is exiting; SQS delivers "
                "them again",
                len(others),
            )
            failures += [{"itemIdentifier": record.get("messageId")} for record in others]
        elif others:
            from lambda_ack.deferred import aio

            result = handler({**event, "Records": others}, context)
            if hasattr(type(result), "__await__"):
                result = aio.run(result)
            if isinstance(result, dict):
                failures += result.get("batchItemFailures") or []
        if exiting is not None:
            from lambda_ack.deferred import defer

            defer(_exit_as_asked, exiting, always=True)
        return {"batchItemFailures": failures}

    return handle


def _lease_s(context: object) -> int:
    """How long a claim taken by `once()` in this invocation lasts before its work is done."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    left_ms = remaining() if callable(remaining) else 15 * 60 * 1000  # Lambda's longest
    return left_ms // 1000 + 1 + LEASE_MARGIN_S


def _exit_as_asked(exit: BaseException) -> None:
    """Deferred: a handed-off callback asked the process to exit; after the answer, it does."""
    raise exit


def _is_ours(record: object) -> bool:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
        return False
    marker = (record.get("messageAttributes") or {}).get(ATTRIBUTE) or {}
    return isinstance(marker, dict) and marker.get("stringValue") == ATTRIBUTE_VALUE


def _signed(record: dict) -> bool:
    given = ((record.get("messageAttributes") or {}).get(SIGNATURE) or {}).get("stringValue")
    body = record.get("body")
    if not isinstance(given, str) or not isinstance(body, str):
        return False
    try:
        return hmac.compare_digest(given, signature(body))
    except UnicodeEncodeError:  # no body the runtime wrote: it writes ASCII
        return False


def _run(record: dict, lease_s: int) -> bool:
    """Run one handed-off callback; False when it fails (SQS then delivers it again). Raises
    only what asks the process to exit."""
    global _running
    if not _signed(record):
        log.error(
            "hand-off message %s is not signed with this function's %s: not run (it was not "
            "written by this function, or was signed with another key)",
            record.get("messageId"),
            KEY_VARIABLE,
        )
        return False
    try:
        body = json.loads(record["body"])
        module_name, _, name = body["function"].partition(":")
        import importlib

        fn = getattr(importlib.import_module(module_name), name)
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        attempt = body["attempts"] + receives
        _running = HandedOff(
            attempt, body["idempotencyKey"], body["requestId"], body["registeredAt"], lease_s
        )
    except Exception:
        log.exception(
            "hand-off message %s is not one this runtime can run", record.get("messageId")
        )
        return False
    try:
        result = fn(*body["args"], **body["kwargs"])
        if hasattr(type(result), "__await__"):
            from lambda_ack.deferred import aio

            aio.run(result)
    except PROCESS_EXITS:
        log.exception("handed-off callback %s asked the runtime to exit", body["function"])
        _running.settle(done=False)  # it is delivered again: that delivery does the work
        raise
    except BaseException:  # asyncio.CancelledError too: this record's failure only
        log.exception("handed-off callback %s failed again (attempt %d)", body["function"], attempt)
        _running.settle(done=False)
        return False
    else:
        _running.settle(done=True)
    finally:
        _running = None
    log.info("handed-off callback %s ran (attempt %d)", body["function"], attempt)
    return True
