"""Sending a `Stream` as the invocation's response: each chunk as the body yields it, the error in
the trailers if the body fails after its first byte, and the figures for the timeline.

Nothing is buffered: a chunk is on the socket before the next is asked for, so a 100 MB stream
costs the runtime what its largest chunk costs. The body is consumed under the caller's thread
(the handler's, or the loop's for a returned Stream); an async body is stepped on the runtime's
event loop, one chunk per step.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from lambda_ack import logs
from lambda_ack.answer.stream import Stream
from lambda_ack.api import ERROR_BODY_TRAILER, ERROR_TYPE_HEADER
from lambda_ack.errors import RESPONSE_TOO_LARGE, Fault

# Lambda's limit for a streamed response: past it the stream ends with an error trailer.
MAX_STREAM_BYTES = 200 * 1024 * 1024

log = logs.runtime_log


class Streamed:
    """How a stream went: time to first byte (from the invocation's start), bytes sent (prelude
    included), and the time from the first byte to the last."""

    __slots__ = ("ttfb_ms", "bytes", "stream_ms")

    def __init__(self) -> None:
        self.ttfb_ms: float | None = None
        self.bytes = 0
        self.stream_ms = 0.0


def post(
    api: object, invocation: object, stream: Stream, started: float, figures: Streamed
) -> tuple[int | None, BaseException | None]:
    """Stream the response; (HTTP status, failure). A None status means nothing was sent: the
    failure (from before the first chunk) is for the caller to post as an ordinary error."""
    chunks = _chunks(stream.body)
    try:
        head = stream.prelude() if stream.http else b""
        first = next(chunks, b"")
    except BaseException as e:
        return None, e
    body = _Body(chunks, head + first, started, figures, invocation.request_id)
    try:
        status = api.post_stream(invocation, stream.wire_content_type(), body, body.trailers)
    except OSError as e:  # the connection broke mid-stream: the caller has what arrived
        log.error("the streamed response was cut off: %s", e)
        body.close()
        return 0, body.failure or e
    return status, body.failure


class _Body:
    """The chunks as the connection sends them, with the first already taken; keeps count, stops
    at the size limit, and turns a failure of the user's body into the stream's trailers."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        head: bytes,
        started: float,
        figures: Streamed,
        request_id: str,
    ) -> None:
        self._chunks = chunks
        self._head = head
        self._started = started
        self._figures = figures
        self._request_id = request_id
        self.failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        figures = self._figures
        chunk = self._head
        first_sent = None
        while True:
            if chunk:
                figures.bytes += len(chunk)
                if figures.bytes > MAX_STREAM_BYTES:
                    figures.bytes -= len(chunk)
                    self.failure = Fault(
                        RESPONSE_TOO_LARGE,
                        f"Response payload size exceeded maximum allowed payload size "
                        f"({MAX_STREAM_BYTES} bytes).",
                    )
                    self.close()
                    return
                yield chunk  # back here once the connection has sent it
                now = time.perf_counter()
                if first_sent is None:
                    first_sent = now
                    figures.ttfb_ms = (now - self._started) * 1000
                figures.stream_ms = (now - first_sent) * 1000
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return
            except BaseException as e:  # the user's body failed mid-stream
                self.failure = e
                return

    def trailers(self) -> dict[str, str]:
        """The error trailers once the body is done: none for a stream that ended well."""
        if self.failure is None:
            return {}
        import base64

        from lambda_ack import errors

        payload = errors.from_exception(self.failure, self._request_id)
        logs.write_error(payload)
        return {
            ERROR_TYPE_HEADER: error_type(self.failure),
            ERROR_BODY_TRAILER: base64.b64encode(errors.to_json(payload)).decode(),
        }

    def close(self) -> None:
        self._chunks.close()  # type: ignore[attr-defined]


def error_type(failure: BaseException) -> str:
    """`Function.<exception name>` for the user's exceptions; the runtime's own faults keep
    theirs (`Function.ResponseSizeTooLarge`). ASCII, as a trailer value must be."""
    if isinstance(failure, Fault):
        return failure.error_type
    name = type(failure).__name__.encode("ascii", "backslashreplace").decode()
    return f"Function.{name}"


def _chunks(body: object) -> Iterator[bytes]:
    """The body's chunks as bytes, empty ones dropped (an empty chunk would end the stream)."""
    source = _stepped(body) if hasattr(body, "__aiter__") else iter(body)  # type: ignore
    try:
        for chunk in source:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            elif not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(f"a Stream body yields bytes or str, got {type(chunk).__name__}")
            if chunk:
                yield chunk
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _stepped(body: object) -> Iterator[object]:
    from lambda_ack.deferred import aio

    iterator = body.__aiter__()  # type: ignore[attr-defined]
    try:
        while True:
            try:
                yield aio.run(iterator.__anext__())
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            aio.run(aclose())
