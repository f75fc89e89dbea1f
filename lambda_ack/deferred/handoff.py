"""The hand-off: durable work this invocation cannot finish goes to an SQS queue, and comes back.

A callback deferred with `durable=True` that fails its last attempt, or that would be skipped
for lack of time, is sent to the queue named by LAMBDA_RUNTIME_HANDOFF_QUEUE_URL as a message
that says what to run: the function by name, its arguments, the attempts so far, the request
that registered it, when, and an idempotency key. The same function consumes that queue (an SQS
event source mapping): `consuming` recognises the runtime's own messages in an SQS event, runs
each, and reports those that fail again in `batchItemFailures`, so SQS redelivers them and the
queue's dead-letter queue gets what keeps failing. Without a queue, such work is logged at ERROR
with the same message, enough to run it again by hand: nothing is dropped silently.

Only the function's own work runs from the queue. A message names a function to import and call
with the function's role and secrets, so anyone who could send one would run code: every message
is signed with HMAC-SHA256 under LAMBDA_RUNTIME_HANDOFF_KEY, a key only the function holds
(required with the queue, checked at init), and a message whose signature does not match is
not run (it is reported as failed, so it ends in the dead-letter queue, where it can be looked
at). The templates also give the queue a policy that lets no one but the function send to it.

boto3 is imported only here, only by a function that configures a queue, and its client is
created on a thread when the first deferred phase with durable work begins (a client costs a few
hundred milliseconds), so no acknowledgement waits for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable

from lambda_ack import logs
from lambda_ack.errors import PROCESS_EXITS, Fault

log = logs.runtime_log

QUEUE_VARIABLE = "LAMBDA_RUNTIME_HANDOFF_QUEUE_URL"
KEY_VARIABLE = "LAMBDA_RUNTIME_HANDOFF_KEY"
MIN_KEY_LENGTH = 32
MARKER = "lambdaAckHandoff"  # the body's version key
VERSION = 1
# The message attribute that marks the runtime's own messages: a user's message cannot carry it
# by accident, as a body could happen to hold the marker's text.
ATTRIBUTE, ATTRIBUTE_VALUE = "lambda-ack", f"handoff/{VERSION}"
SIGNATURE = "lambda-ack-signature"  # hex HMAC-SHA256 of the body under the function's key


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


def key() -> bytes:
    """The function's signing key; `Runtime.InvalidConfiguration` when it is missing or short
    (the queue is configured: startup checks this before serving)."""
    value = os.environ.get(KEY_VARIABLE, "")
    if len(value) < MIN_KEY_LENGTH:
        raise Fault(
            "Runtime.InvalidConfiguration",
            f"{QUEUE_VARIABLE} is set, so {KEY_VARIABLE} must be too "
            f"({'it is shorter' if value else 'it is not set'}): at least {MIN_KEY_LENGTH} "
            "characters that only this function knows, which sign every hand-off message (only "
            "signed messages run from the queue). Make one with `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`; the templates generate it.",
        )
    return value.encode()


def _signature(text: str) -> str:
    return hmac.new(key(), text.encode(), hashlib.sha256).hexdigest()


def prepare() -> None:
    """Durable work is about to run: have the client ready before it is needed."""
    if queue_url():
        _client.prepare()


def message(callback, request_id: str, position: int, reason: str) -> dict:
    """What a hand-off sends: the callback as it was deferred, and how far it got."""
    from lambda_ack.deferred import durable

    args, kwargs = json.loads(callback.encoded)
    return {
        MARKER: VERSION,
        "function": durable.name_of(callback.fn),
        "args": args,
        "kwargs": kwargs,
        "attempts": callback.attempts,
        "requestId": request_id,
        "registeredAt": callback.registered,
        "idempotencyKey": f"{request_id}/{position}",
        "reason": reason,
    }


def hand_off(body: dict, within_s: float = 10.0) -> bool:
    """Send one hand-off message; True once SQS has it. Logged either way. `within_s`: how long
    it may wait for the client to be ready (the time left before the deadline or the kill)."""
    url = queue_url()
    text = json.dumps(body)  # ASCII: SQS refuses some characters raw (lone surrogates, U+FFFE)
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
        attributes = {
            ATTRIBUTE: {"DataType": "String", "StringValue": ATTRIBUTE_VALUE},
            SIGNATURE: {"DataType": "String", "StringValue": _signature(text)},
        }
        answer = _client.get(max(within_s, 0.05)).send_message(
            QueueUrl=url, MessageBody=text, MessageAttributes=attributes
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
        for record in filter(_is_ours, records):
            if exiting is None:
                try:
                    if _run(record):
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
        return hmac.compare_digest(given, _signature(body))
    except UnicodeEncodeError:  # no body the runtime wrote: it writes ASCII
        return False


def _run(record: dict) -> bool:
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
            from lambda_ack.deferred import aio

            aio.run(result)
    except PROCESS_EXITS:
        log.exception("handed-off callback %s asked the runtime to exit", body["function"])
        raise
    except BaseException:  # asyncio.CancelledError too: this record's failure only
        log.exception("handed-off callback %s failed again (attempt %d)", body["function"], attempt)
        return False
    finally:
        _running = None
    log.info("handed-off callback %s ran (attempt %d)", body["function"], attempt)
    return True
