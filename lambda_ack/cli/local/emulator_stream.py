"""Streamed responses in the emulator: from the runtime's chunked `/response` to the caller,
chunk by chunk, in the form each way of invoking expects.

- The Lambda API's InvokeWithResponseStream gets `application/vnd.amazon.eventstream`: one
  `PayloadChunk` event per chunk, then `InvokeComplete` (with `ErrorCode`/`ErrorDetails` after a
  mid-stream error), which is what boto3's `invoke_with_response_stream` reads.
- A Function URL request gets the status, headers and cookies of the stream's prelude, then the
  body as chunks; a mid-stream error cuts the body off (no final chunk), all a browser can see.
- A buffered Invoke gets the whole stream at the end, as Lambda's Invoke API gives it: the bytes
  as streamed (up to 6 MB), or the error from the trailers.

A `Relay` carries chunks from the thread reading the runtime's request to the thread answering
the caller, holding at most a few MiB: the runtime is slowed to the caller's pace, as on Lambda.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import struct
import threading
import time
import zlib

from lambda_ack.cli.local.emulator_invocation import MAX_RESPONSE_BYTES, error_headers
from lambda_ack.cli.local.emulator_io import reply

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
_HELD_BYTES = 4 * 1024 * 1024


class Relay:
    """Chunks from the runtime to the caller. `finish` ends it with the error trailers' type and
    decoded body (None, None for a stream that ended well)."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self._cond = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._held = 0
        self._done = False
        self._abandoned = False  # the caller went away: chunks are dropped, never waited on
        self.error_type: str | None = None
        self.error_body: bytes | None = None
        self.size = 0
        self.first_out: float | None = None  # perf_counter when the caller was handed chunk 1

    def put(self, chunk: bytes) -> None:
        with self._cond:
            while self._held >= _HELD_BYTES and not self._abandoned:
                self._cond.wait()
            self.size += len(chunk)
            if not self._abandoned:
                self._chunks.append(chunk)
                self._held += len(chunk)
                self._cond.notify_all()

    def finish(self, error_type: str | None = None, error_body: bytes | None = None) -> None:
        with self._cond:
            if not self._done:
                self._done = True
                self.error_type, self.error_body = error_type, error_body
                self._cond.notify_all()

    def finish_with_trailers(self, trailers: dict[str, str]) -> None:
        """End as the runtime's trailers say (names lower-cased)."""
        error_type = trailers.get("lambda-runtime-function-error-type")
        body = trailers.get("lambda-runtime-function-error-body", "")
        try:
            decoded = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            decoded = body.encode("latin-1", "replace")
        self.finish(error_type, decoded if error_type else None)

    def abandon(self) -> None:
        with self._cond:
            self._abandoned = True
            self._chunks.clear()
            self._cond.notify_all()

    def __iter__(self):
        """Chunks as they come, until `finish`."""
        while True:
            with self._cond:
                while not self._chunks and not self._done:
                    self._cond.wait()
                if not self._chunks:
                    return
                chunk = self._chunks.popleft()
                self._held -= len(chunk)
                if self.first_out is None:
                    self.first_out = time.perf_counter()
                self._cond.notify_all()
            yield chunk


# -- the three ways a caller reads an answer ---------------------------------------------------
def write_eventstream(http, status: int, answer, headers: dict[str, str]) -> float:
    """InvokeWithResponseStream: a buffered answer is one chunk, an `/error` is the
    `InvokeComplete`'s error, as Lambda sends them. The body is always eventstream-framed; the
    Content-Type header is the function's, which the SDK reports as `ResponseStreamContentType`."""
    content_type = answer.content_type if isinstance(answer, Relay) else headers["Content-Type"]
    out = _ChunkedWriter(http, 200, {**_ids(headers), "Content-Type": content_type})
    if isinstance(answer, Relay):
        for chunk in answer:
            out.write(event_message("PayloadChunk", chunk, "application/octet-stream"))
        complete = _complete(answer.error_type, answer.error_body)
    elif headers.get("X-Amz-Function-Error"):
        complete = _complete(_error_type_of(answer), answer)
    else:
        if answer:
            out.write(event_message("PayloadChunk", answer, "application/octet-stream"))
        complete = _complete(None, None)
    out.write(event_message("InvokeComplete", complete, "application/json"))
    return out.end()


def write_function_url(http, status: int, answer, headers: dict[str, str]) -> float:
    """A Function URL in RESPONSE_STREAM mode; a buffered answer is translated as Lambda
    translates a handler's return value (`lambda_ack.cli.local.function_url`)."""
    from lambda_ack.cli.local.function_url import http_answer

    if not isinstance(answer, Relay):
        code, answer_headers, cookies, body = http_answer(answer, headers)
        out = _ChunkedWriter(http, code, {**_ids(headers), **answer_headers}, cookies)
        out.write(body)
        return out.end()
    chunks = iter(answer)
    meta, first = _prelude_of(chunks) if answer.content_type == HTTP_INTEGRATION else ({}, b"")
    answer_headers = {str(k): str(v) for k, v in (meta.get("headers") or {}).items()}
    if answer.content_type != HTTP_INTEGRATION:
        answer_headers.setdefault("Content-Type", answer.content_type)
    out = _ChunkedWriter(
        http,
        int(meta.get("statusCode") or 200),
        {**_ids(headers), **answer_headers},
        [str(c) for c in meta.get("cookies") or []],
    )
    out.write(first)
    for chunk in chunks:
        out.write(chunk)
    if answer.error_type is None:
        return out.end()
    http.close_connection = True  # the body is cut off: no final chunk, and the connection closes
    return time.perf_counter()


def write_buffered(http, status: int, answer, headers: dict[str, str]) -> float:
    """The Invoke API's answer; a stream is handed over whole, as Lambda's Invoke gives it."""
    if isinstance(answer, Relay):
        answer, failed = _whole(answer, MAX_RESPONSE_BYTES)
        if failed:
            headers = {**headers, **error_headers()}
    return reply(http, status, answer, headers)


def _whole(answer: Relay, limit: int) -> tuple[bytes, bool]:
    """(the stream's bytes, False), or (an error payload, True) for a mid-stream error or a
    stream over `limit`."""
    body = bytearray()
    for chunk in answer:
        body += chunk
        if len(body) > limit:
            answer.abandon()
            message = (
                f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
            )
            error = {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": message}
            return json.dumps(error).encode(), True
    if answer.error_type is not None:
        return answer.error_body or b"{}", True
    return bytes(body), False


def event_message(event_type: str, payload: bytes, content_type: str) -> bytes:
    """One `application/vnd.amazon.eventstream` message: lengths, CRCs, string headers."""
    headers = b"".join(
        struct.pack("!B", len(name))
        + name.encode()
        + struct.pack("!BH", 7, len(value))
        + value.encode()
        for name, value in (
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        )
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(headers))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack("!I", zlib.crc32(message))


def _complete(error_type: str | None, error_body: bytes | None) -> bytes:
    if error_type is None:
        return b"{}"
    details = (error_body or b"").decode("utf-8", "replace")
    return json.dumps({"ErrorCode": error_type, "ErrorDetails": details}).encode()


def _error_type_of(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"


def _prelude_of(chunks) -> tuple[dict, bytes]:
    """The HTTP integration's JSON prelude, read up to its eight NUL bytes; what follows them."""
    head = b""
    for chunk in chunks:
        head += chunk
        prelude, sep, rest = head.partition(b"\0" * 8)
        if sep:
            try:
                meta = json.loads(prelude)
            except ValueError:
                meta = {}
            return (meta if isinstance(meta, dict) else {}), rest
    return {}, head


def _ids(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("X-Amz")}


class _ChunkedWriter:
    def __init__(self, http, status: int, headers: dict[str, str], cookies=()) -> None:
        self._wfile = http.wfile
        http.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "x-amz-function-error"):
                http.send_header(name, value)
        for cookie in cookies:
            http.send_header("Set-Cookie", cookie)
        http.send_header("Transfer-Encoding", "chunked")
        http.end_headers()
        self._wfile.flush()

    def write(self, data: bytes) -> None:
        if data:
            self._wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            self._wfile.flush()

    def end(self) -> float:
        """The final chunk; returns when it began to go out, as `reply` does."""
        sent = time.perf_counter()
        self._wfile.write(b"0\r\n\r\n")
        self._wfile.flush()
        return sent
