"""One handler file for both runtimes: on AWS's managed runtime (awslambdaric) `@deferrable`
registers the extension that runs the deferred work; on this runtime it changes nothing."""

import asyncio
import os
import sys
import time
import urllib.request

import runtime
from runtime import defer


def say(text: str) -> None:
    """Print, and post to the test's URL: its arrival is over before this callback returns."""
    print(text, flush=True)
    marks = os.environ.get("MARKS_URL")
    if marks:
        urllib.request.urlopen(f"{marks}/{text.replace(' ', '-')}", data=b"", timeout=30).read()


async def say_later(text: str) -> None:
    await asyncio.sleep(0)
    say(text)


def fail() -> None:
    raise RuntimeError("callback failed on purpose")


def busy(seconds: float) -> None:
    """CPU-bound work: it holds the GIL, which awslambdaric's thread needs to post the answer."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass
    say("busy callback done")


@runtime.deferrable
def inner_handler(event, context):
    """A handler of its own, also decorated, that the main one calls (as a router would)."""
    defer(say, "inner")
    return "inner answer"


@runtime.deferrable
def handler(event, context):
    case = event.get("case", "order")
    if case == "order":
        for word in ("first", "second", "third"):
            defer(say, word)
    elif case == "failing":
        defer(fail)
        defer(say, "after the failure")
    elif case == "deadline":
        defer(time.sleep, event["sleep_s"])
        defer(say, "not started: within the margin")
    elif case == "error":
        defer(say, "discarded")
        defer(say, "always ran", always=True)
        raise ValueError("handler failed on purpose")
    elif case == "async":
        defer(say_later, "async callback ran")
    elif case == "many":
        for i in range(200):
            defer(say, f"callback {i}")
    elif case == "nested":
        defer(lambda: defer(say, "deferred from a callback"))
    elif case == "busy":
        defer(busy, event["busy_s"])
    elif case == "stuck":
        defer(time.sleep, 30)
    elif case == "nested-handlers":
        defer(say, "outer before")
        inner_handler(event, context)
        defer(say, "outer after")
    served_by = "lambda-ack" if "lambda_ack.startup" in sys.modules else "managed runtime"
    return {"case": case, "served_by": served_by, "request_id": context.aws_request_id}
