"""The hand-off: durable work this invocation cannot finish goes to an SQS queue, and comes back.

A callback deferred with `durable=True` that fails its last attempt, or that would be skipped
for lack of time, is sent to the queue named by LAMBDA_RUNTIME_HANDOFF_QUEUE_URL as a message
that says what to run: the function by name, its arguments, the attempts so far, the request
that registered it, when, and an idempotency key. The same function consumes that queue (an SQS
event source mapping): `lambda_ack.deferred.consumer` recognises the runtime's own messages in
an SQS event, runs each, and reports those that fail again in `batchItemFailures`, so SQS
redelivers them and the queue's dead-letter queue gets what keeps failing. Without a queue, such
work is logged at ERROR with the same message, enough to run it again by hand: nothing is dropped
silently.

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

from lambda_ack import logs
from lambda_ack.errors import Fault

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


def restored() -> None:
    """SnapStart: a client made before the snapshot holds its connections and credentials;
    the next hand-off makes a new one."""
    global _client
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


def signature(text: str) -> str:
    """The hex HMAC-SHA256 of a message body under the function's key."""
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
            SIGNATURE: {"DataType": "String", "StringValue": signature(text)},
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
