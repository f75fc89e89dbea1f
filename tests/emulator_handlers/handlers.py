"""Handlers for the emulator's tests. Anything that must wait does so on an HTTP request to a
loopback server the test controls (`gate` URLs), so the test decides when work goes on."""

import os
import threading
import urllib.request

from runtime import defer


def call(url: str, data: bytes | None = None) -> None:
    urllib.request.urlopen(url, data=data, timeout=60).read()


def echo(event, context):
    return {"event": event, "request_id": context.aws_request_id}


def ack_then_wait(event, context):
    """Acknowledge at once; the deferred callback waits on the test's gate, then reports."""
    defer(call, event["gate"])
    defer(call, event["done"], b"done")
    return {"ack": event.get("n")}


def fail(event, context):
    raise ValueError("this handler always fails")


def stuck(event, context):
    threading.Event().wait()  # never acknowledges: only the function timeout ends it


def background_thread(event, context):
    """The mistake `freeze` exists to expose: work in a thread that outlives the invocation."""

    def work():
        call(event["gate"])
        call(event["progress"], b"progress")

    threading.Thread(target=work, daemon=True).start()
    if "hold" in event:  # keeps this invocation (and so the process) running until released
        defer(call, event["hold"])
    return {"ack": "thread started"}


def context_fields(event, context):
    return {
        "client_context": context.client_context and context.client_context.custom,
        "identity": context.identity.cognito_identity_id,
        "tenant_id": context.tenant_id,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
