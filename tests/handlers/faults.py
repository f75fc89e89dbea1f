"""Handlers that misbehave on purpose, for the reliability tests."""

import os
import sys

from basic import mark

from runtime import defer, on_shutdown


@on_shutdown
def close_pools():
    print("shutdown hook: pools closed")


@on_shutdown
def broken_hook():
    raise RuntimeError("hook broke")


@on_shutdown
def last_hook():
    print("shutdown hook: last one ran")


def block_on_fifo(path: str) -> None:
    mark("started")
    with open(path) as fifo:  # blocks until the test opens the other end
        fifo.read()


def blocking_callback(event, context):
    defer(block_on_fifo, event["fifo"])
    defer(mark, "never")
    return "ack"


def thousand_callbacks(event, context):
    ran = []
    for i in range(1000):
        defer(ran.append, i)
    defer(lambda: mark(f"ran-{len(ran)}-in-order-{ran == list(range(1000))}"))
    return "ack"


def keyboard_interrupt(event, context):
    raise KeyboardInterrupt


def recursion(event, context):
    return recursion(event, context)


def generator(event, context):
    return (i for i in range(3))


async def _later():
    return {"awaited": True}


def returns_coroutine(event, context):
    return _later()


def binary_junk(event, context):
    sys.stdout.buffer.write(b"\xff\xfe\x00junk\r\n\x1b[2J")
    sys.stdout.buffer.flush()
    return "still fine"


def vandal(event, context):
    """Leaves the process in a mess: the runtime must not depend on what it changed."""
    sys.path.clear()
    os.environ.pop("AWS_LAMBDA_RUNTIME_API", None)
    os.environ["_X_AMZN_TRACE_ID"] = "forged"
    if event.get("raise"):
        raise ValueError("after vandalism")
    return os.environ.get("_X_AMZN_TRACE_ID")


def leaky(event, context):
    import logging

    secret = os.environ["SLACK_SIGNING_SECRET"]
    logging.getLogger("app").debug("signing with %s", secret)
    print(f"token xoxb-1234567890-abcdefghij and key AKIAABCDEFGHIJKLMNOP, {os.environ['MY_KEY']}")
    raise ValueError(f"bad secret {secret}")


def _graceful_exit(signum, frame):
    """AWS's graceful-shutdown sample installs a handler like this one at import time."""
    print("[user] SIGTERM received, cleaning up", flush=True)
    sys.exit(0)
