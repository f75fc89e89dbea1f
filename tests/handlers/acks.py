"""Handlers that acknowledge with `runtime.ack` and keep working; `mark` posts to the scripted
Runtime API, so the order of answers and work is read off one timeline."""

import asyncio
import urllib.request

from basic import mark

import runtime
from runtime import defer


def ack_first(event, context):
    defer(mark, "callback")
    runtime.ack({"acknowledged": True})
    mark("rest-of-handler")


async def ack_first_async(event, context):
    defer(mark, "callback")
    runtime.ack({"acknowledged": "async"})
    await asyncio.sleep(0)
    mark("rest-of-handler")


def ack_through_context(event, context):
    context.ack("through the context")
    mark("rest-of-handler")


def ack_twice(event, context):
    runtime.ack(1)
    try:
        runtime.ack(2)
    except RuntimeError as e:
        print(f"second ack refused: {e}")


def ack_then_raise(event, context):
    defer(mark, "callback")
    runtime.ack("ok")
    raise ValueError("after the acknowledgement")


def ack_then_return(event, context):
    runtime.ack("the answer")
    return "a second answer"


def ack_unencodable(event, context):
    defer(mark, "callback")
    try:
        runtime.ack({"not json": object()})
    except runtime.AcknowledgementFailed as e:
        print(f"ack failed: {e}")
        raise
    mark("never")


def ack_then_overrun(event, context):
    """Acknowledges, then works past the deadline's safety margin, then defers more work."""
    runtime.ack("ok")
    urllib.request.urlopen(event["held_url"], timeout=30).read()  # released by the test
    defer(mark, "late-callback")


def ack_from_a_callback(event, context):
    defer(ack_in_callback)
    return "returned"


def ack_in_callback():
    try:
        runtime.ack("too late")
    except RuntimeError as e:
        print(f"ack in a callback refused: {e}")


def ack_then_hold(event, context):
    runtime.ack({"acknowledged": True})
    print("rest of the handler started")
    urllib.request.urlopen(event["held_url"], timeout=30).read()  # released by the test
    print("rest of the handler done")


async def ack_then_hold_async(event, context):
    runtime.ack({"acknowledged": True})
    print("rest of the handler started")
    await asyncio.to_thread(urllib.request.urlopen(event["held_url"], timeout=30).read)
    print("rest of the handler done")
