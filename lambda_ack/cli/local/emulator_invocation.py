"""One emulated invocation, from the invoke's arrival to its timeline line.

Kept apart from the servers and the process handling in `lambda_ack.cli.local.emulator`: this is the
bookkeeping of what the caller waited and what ran after, which the timeline reports.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # Lambda's limit for a buffered response


@dataclass
class Timeline:
    """One invocation as it happened; milliseconds, measured by the emulator's clock."""

    request_id: str
    status: str  # ok | error | timeout | exited | init error | no response
    timed_out: bool
    cold_start: bool
    ack_ms: float  # invoke received -> the end of the caller's answer going out (queue, init)
    deferred_ms: float | None  # response posted (streamed: its end) -> runtime back on /next
    queued_ms: float  # invoke received -> event handed to the runtime (init included when cold)
    duration_ms: float | None  # handed over -> ended: what the timeout applies to
    total_ms: float  # invoke received -> ended
    timeout_s: float
    invocation_id: str | None = None  # the Lambda-Runtime-Invocation-Id the runtime echoed
    streamed: int | None = None  # bytes of a streamed response; None for a buffered one
    first_byte_ms: float | None = None  # invoke received -> first streamed chunk to the caller

    def line(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f} ms"

        return (
            f"emulator: {self.request_id[:8]} {self.status:<10} ack {ms(self.ack_ms)} | "
            f"deferred {ms(self.deferred_ms)} | duration {ms(self.duration_ms)} "
            f"(timeout {self.timeout_s:g} s{', TIMED OUT' if self.timed_out else ''}) | "
            f"total {ms(self.total_ms)}"
            + (
                f" | streamed {self.streamed} B, first byte {ms(self.first_byte_ms)}"
                if self.streamed is not None
                else ""
            )
            + (f" | cold start, queued {ms(self.queued_ms)}" if self.cold_start else "")
        )


class Invocation:
    """An invoke from its arrival to its timeline: the caller's side and the runtime's side."""

    def __init__(self, body: bytes, next_headers: dict[str, str]) -> None:
        self.request_id = str(uuid.uuid4())
        self.body = body
        self.next_headers = next_headers
        self.received = time.perf_counter()
        self.handed: float | None = None
        self.deadline = 0.0  # time.monotonic() at which it times out, once handed over
        self.cold_start = False
        self.posted: float | None = None  # the runtime's answer began
        self.stream = None  # an `emulator_stream.Relay` while a streamed answer goes through
        self.stream_ended: float | None = None
        self.ended: float | None = None
        self.written: float | None = None
        self.status = "no response"
        self.timed_out = False
        self.echoed_invocation_id: str | None = None
        self.answer: tuple[int, bytes, dict[str, str]] | None = None
        self.answered = threading.Event()

    def respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        if self.answer is None:
            self.answer = (status, body, headers)
            self.answered.set()

    def fail(self, error_type: str, message: str) -> None:
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        self.respond(200, body, error_headers())


def error_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled"}


def ms(start: float, end: float) -> float:
    return (end - start) * 1000


def trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"
