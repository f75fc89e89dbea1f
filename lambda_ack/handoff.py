"""The hand-off: durable work this invocation cannot finish goes to an SQS queue, and comes back.

A callback deferred with `durable=True` that fails its last attempt, or that would be skipped
for lack of time, is sent to the queue named by LAMBDA_RUNTIME_HANDOFF_QUEUE_URL as a message
that says what to run: the function by name, its arguments, the attempts so far, the request
that registered it, when, and an idempotency key. The same function consumes that queue (an SQS
event source mapping): `consuming` recognises the runtime's own messages in an SQS event, runs
each, and reports those that fail again in `batchItemFailures`, so SQS redelivers them and the
queue's dead-letter queue gets what keeps failing. Without a queue, such work is logged at ERROR
with the same message, enough to run it again by hand: nothing is dropped silently.

boto3 is imported only here, only by a function that configures a queue, and its client is
created on a thread when the first deferred phase with durable work begins (a client costs a few
hundred milliseconds), so no acknowledgement waits for it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable

from lambda_ack import logs

log = logs.runtime_log

QUEUE_VARIABLE = "LAMBDA_RUNTIME_HANDOFF_QUEUE_URL"
MARKER = "lambdaAckHandoff"  # the body's version key
VERSION = 1
# The message attribute that marks the runtime's own messages: a user's message cannot carry it
# by accident, as a body could happen to hold the marker's text.
ATTRIBUTE, ATTRIBUTE_VALUE = "lambda-ack", f"handoff/{VERSION}"


class _Client:
    """The SQS client, made once, on a thread, the first time durable work may need it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client = None
        self._error: BaseException | None = None
        self._started = False

    def prepare(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._make, name="handoff-client", daemon=True).start()

    def get(self, timeout_s: float):
        self.prepare()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the SQS client was not ready after {timeout_s:.0f} s")
        if self._error is not None:
            raise self._error
        return self._client

    def _make(self) -> None:
        started = time.perf_counter()
        try:
            import boto3
            from botocore.config import Config

            # Bounded: a hand-off runs against Lambda's deadline or its shutdown grace period.
            bounded = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2})
            self._client = boto3.client("sqs", config=bounded)
        except BaseException as e:  # reported at the hand-off that needed it
            self._error = e
        finally:
            self._ready.set()
        if self._error is None:
            log.info(
                "hand-off: SQS client ready in %.0f ms", (time.perf_counter() - started) * 1000
            )


_client = _Client()


def queue_url() -> str | None:
    return os.environ.get(QUEUE_VARIABLE) or None


def prepare() -> None:
    """Durable work is about to run: have the client ready before it is needed."""
    if queue_url():
        _client.prepare()


def message(callback, request_id: str, position: int, attempts: int, reason: str) -> dict:
    from lambda_ack import durable

    return {
        MARKER: VERSION,
        "function": durable.name_of(callback.fn),
        "args": list(callback.args),
        "kwargs": callback.kwargs,
        "attempts": attempts,
        "requestId": request_id,
        "registeredAt": callback.registered,
        "idempotencyKey": f"{request_id}/{position}",
        "reason": reason,
    }


def hand_off(body: dict, within_s: float = 10.0) -> bool:
    """Send one hand-off message; True once SQS has it. Logged either way. `within_s`: how long
    it may wait for the client to be ready (the time left before the deadline or the kill)."""
    url = queue_url()
    text = json.dumps(body, ensure_ascii=False)
    if url is None:
        log.error(
            "deferred callback %s could not finish (%s) and no hand-off queue is configured "
            "(%s); to run it again: %s",
            body["function"],
            body["reason"],
            QUEUE_VARIABLE,
            text,
        )
        return False
    started = time.perf_counter()
    try:
        answer = _client.get(max(within_s, 0.05)).send_message(
            QueueUrl=url,
            MessageBody=text,
            MessageAttributes={ATTRIBUTE: {"DataType": "String", "StringValue": ATTRIBUTE_VALUE}},
        )
    except Exception:
        log.exception(
            "deferred callback %s could not be handed off to %s; to run it again: %s",
            body["function"],
            url,
            text,
        )
        return False
    log.warning(
        "deferred callback %s handed off (%s): message %s, sent in %.1f ms",
        body["function"],
        body["reason"],
        answer.get("MessageId"),
        (time.perf_counter() - started) * 1000,
    )
    return True


# -- the way back: the same function consuming its queue -------------------------------------


class HandedOff:
    """What a callback run from the queue can know (`runtime.handed_off()`)."""

    __slots__ = ("attempt", "idempotency_key", "request_id", "registered_at")

    def __init__(self, attempt: int, idempotency_key: str, request_id: str, registered_at):
        self.attempt = attempt  # counting every attempt since it was first registered
        self.idempotency_key = idempotency_key  # the same for every delivery of this work
        self.request_id = request_id  # the invocation that registered it
        self.registered_at = registered_at  # epoch seconds


_running: HandedOff | None = None


def handed_off() -> HandedOff | None:
    """The hand-off being run, in a callback the runtime runs from its queue; None otherwise."""
    return _running


def consuming(handler: Callable[..., object]) -> Callable[..., object]:
    """`handler`, with the runtime's own SQS messages taken out of its events and run."""

    def handle(event: object, context: object) -> object:
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list) or not any(map(_is_ours, records)):
            return handler(event, context)
        failures = [
            {"itemIdentifier": record.get("messageId")}
            for record in records
            if _is_ours(record) and not _run(record)
        ]
        others = [record for record in records if not _is_ours(record)]
        if others:
            from lambda_ack import aio

            result = handler({**event, "Records": others}, context)
            if hasattr(type(result), "__await__"):
                result = aio.run(result)
            if isinstance(result, dict):
                failures += result.get("batchItemFailures") or []
        return {"batchItemFailures": failures}

    return handle


def _is_ours(record: object) -> bool:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
        return False
    marker = (record.get("messageAttributes") or {}).get(ATTRIBUTE) or {}
    return isinstance(marker, dict) and marker.get("stringValue") == ATTRIBUTE_VALUE


def _run(record: dict) -> bool:
    """Run one handed-off callback; False when it fails (SQS then delivers it again)."""
    global _running
    try:
        body = json.loads(record["body"])
        module_name, _, name = body["function"].partition(":")
        import importlib

        fn = getattr(importlib.import_module(module_name), name)
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        attempt = body["attempts"] + receives
        _running = HandedOff(
            attempt, body["idempotencyKey"], body["requestId"], body["registeredAt"]
        )
    except Exception:
        log.exception(
            "hand-off message %s is not one this runtime can run", record.get("messageId")
        )
        return False
    try:
        result = fn(*body["args"], **body["kwargs"])
        if hasattr(type(result), "__await__"):
            from lambda_ack import aio

            aio.run(result)
    except Exception:
        log.exception("handed-off callback %s failed again (attempt %d)", body["function"], attempt)
        return False
    finally:
        _running = None
    log.info("handed-off callback %s ran (attempt %d)", body["function"], attempt)
    return True
