"""Handlers that answer with `runtime.Stream`; `mark` posts to the scripted Runtime API (or any
Runtime API address), so "after the last byte" is read off one timeline."""

import asyncio
import datetime
import decimal
import os
import resource
import urllib.request

from basic import mark

import runtime
from runtime import Stream, defer

MIB = 1024 * 1024


def _held(event) -> None:
    """Blocks until the test releases the held URL (a LoopbackServer's)."""
    urllib.request.urlopen(event["held_url"], timeout=30).read()


def report(event, context):
    """Two lines with a pause the test controls between them; a notification after the last."""

    def lines():
        yield "first line\n"
        _held(event)
        yield b"second line\n"

    defer(mark, "after-stream")
    return Stream(
        lines(),
        status_code=201,
        headers={"Content-Type": "text/plain", "X-Report": "weekly"},
        cookies=["session=abc; Secure", "theme=dark"],
    )


def raw(event, context):
    defer(mark, "after-stream")
    rows = (f'{{"row": {i}}}\n' for i in range(3))
    return Stream(rows, content_type="application/x-ndjson", http=False)


async def async_stream(event, context):
    async def rows():
        for i in range(3):
            await asyncio.sleep(0)
            yield f"async {i}\n"

    defer(mark, "after-stream")
    return Stream(rows(), headers={"Content-Type": "text/plain"})


def fails_before_the_first_byte(event, context):
    def rows():
        raise LookupError("no report for this week")
        yield b"never"

    defer(mark, "discarded")
    return Stream(rows())


def fails_mid_stream(event, context):
    def rows():
        yield b"partial "
        raise ValueError("the source went away")

    defer(mark, "discarded")
    defer(mark, "always", always=True)
    return Stream(rows(), headers={"Content-Type": "text/plain"})


async def fails_mid_stream_async(event, context):
    async def rows():
        yield b"partial "
        raise ValueError("the source went away")

    defer(mark, "discarded")
    return Stream(rows(), http=False)


def yields_a_non_bytes_chunk(event, context):
    return Stream(iter([b"ok ", 42]), http=False)


def endless(event, context):
    """8 MiB chunks for ever: the 200 MB limit must end it."""
    chunk = b"x" * (8 * MIB)

    def forever():
        while True:
            yield chunk

    defer(mark, "discarded")
    return Stream(forever(), http=False)


def sized(event, context):
    """`event["mib"]` MiB in 1 MiB chunks, each made fresh; peak RSS before and after, in KiB."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def chunks():
        for _ in range(event["mib"]):
            yield bytes(MIB)

    def after():
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS before {before} KiB, after {after} KiB")

    defer(after)
    return Stream(chunks(), http=False)


def ack_a_stream(event, context):
    """`ack(Stream)`: the stream goes first, the rest of the handler after its last byte."""
    defer(mark, "callback")
    runtime.ack(Stream(iter(["streamed ", "ack"]), http=False))
    mark("rest-of-handler")


def ack_inside_the_body(event, context):
    def rows():
        try:
            runtime.ack("again")
        except RuntimeError as e:
            yield f"refused: {e}"

    runtime.ack(Stream(rows(), http=False))


UNENCODABLE = {"datetime": datetime.datetime(2026, 12, 4), "decimal": decimal.Decimal("1.5")}


def unencodable_prelude(event, context):
    """A header value JSON cannot write, returned or passed to `ack()`."""
    defer(mark, "discarded")
    stream = Stream(iter([b"never sent"]), headers={"X-When": UNENCODABLE[event["value"]]})
    if event["how"] == "ack":
        runtime.ack(stream)  # raises: the caller got the error instead
        mark("after-a-failed-ack")
    return stream


def after_a_hang_up(event, context):
    """Returns its stream once the Runtime API has closed the connection `/next` used."""
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    urllib.request.urlopen(f"http://{address}/wait/hung-up", timeout=10).read()
    defer(mark, "after-stream")
    return Stream(iter([b"still ", b"delivered"]), http=False)
