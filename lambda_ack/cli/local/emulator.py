"""A local Lambda that tells the truth about timing: Runtime API and Invoke API in one process.

AWS's Runtime Interface Emulator answers the caller only when the runtime asks for the next
event, which hides the one thing this runtime is for (answering first, working after). This
emulator behaves like Lambda where it matters for deferred work:

- the caller gets its answer as soon as the runtime posts `/response` (or `/error`);
- invokes that arrive while the runtime is busy wait in a queue, in arrival order;
- the function timeout covers the whole invocation, deferred phase included: past it the runtime
  is killed and the next invoke starts a fresh one (a cold start), as on Lambda;
- with `freeze=True` the runtime is stopped (SIGSTOP) while it waits for an event, so threads
  that outlive their invocation stall here as they do on AWS;
- one timeline line per invocation says what the caller waited and what ran after;
- a streamed response reaches the caller chunk by chunk (RIE hands it over whole), through the
  Invoke API (whole, at the end), InvokeWithResponseStream, or any other path, which is the
  function's URL: the request becomes a payload 2.0 event (`lambda_ack.cli.local.emulator_stream`).

Lambda-Runtime-* values for one invoke come from the Invoke request's headers: send
`Lambda-Runtime-Client-Context`, `-Cognito-Identity`, `-Aws-Tenant-Id`, `-Invocation-Id` or
`-Trace-Id` as they should reach the runtime, or the Invoke API's own `X-Amz-Client-Context`
(base64), `X-Amz-Tenant-Id` and `X-Amzn-Trace-Id`.

`./dev emulate HANDLER [--task-root DIR] [--port 9000] [--timeout 30] [--freeze]`

Stopping it (Ctrl-C, SIGTERM, `close()`) is Lambda's shutdown: the runtime gets SIGTERM (it
registers an extension, which this emulator accepts) and its report of the work it cuts off.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import json
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TextIO

from lambda_ack.cli.local import emulator_stream, function_url
from lambda_ack.cli.local.collected import wait_for_text
from lambda_ack.cli.local.emulator_invocation import Invocation, Timeline, ms, trace_id
from lambda_ack.cli.local.emulator_io import OutputPipe, reply, serve
from lambda_ack.cli.local.emulator_process import RuntimeProcessControl
from lambda_ack.cli.local.emulator_runtime_api import RuntimeAPIServing
from lambda_ack.cli.local.invoke import INVOKE_PATH, InvokeResult, invoke
from lambda_ack.cli.local.ports import PortTaken, taken
from lambda_ack.cli.paths import command_of, runtime_command

ACCOUNT = "123456789012"
_LAMBDA_API = ("/2015-03-31/", "/2021-11-15/")
_ALL_BUSY = (
    b'{"Type": "User", "message": "Rate Exceeded.", "Reason": "every slot of the execution '
    b'environment is busy (AWS_LAMBDA_MAX_CONCURRENCY)"}'
)
_BUFFERED = re.compile(r"/2015-03-31/functions/[^/]+/invocations")
_STREAMING = re.compile(r"/2021-11-15/functions/[^/]+/response-streaming-invocations")

# Invoke request header -> /next header; the Lambda-Runtime-* names pass through unchanged.
_FORWARDED = {
    name.lower(): name
    for name in (
        "Lambda-Runtime-Client-Context",
        "Lambda-Runtime-Cognito-Identity",
        "Lambda-Runtime-Aws-Tenant-Id",
        "Lambda-Runtime-Invocation-Id",
        "Lambda-Runtime-Trace-Id",
    )
}
_INVOKE_API_ALIASES = {
    "x-amzn-trace-id": "Lambda-Runtime-Trace-Id",
    "x-amz-tenant-id": "Lambda-Runtime-Aws-Tenant-Id",
}


class Emulator(RuntimeAPIServing, RuntimeProcessControl):
    """A Lambda function on loopback: serves both APIs and runs `bootstrap` as its runtime.

    The runtime process starts on the first invoke (a cold start, as on Lambda) and again on the
    invoke after it was killed or exited. Use as a context manager; `close` kills it.
    """

    def __init__(
        self,
        handler: str,
        task_root: str | Path,
        env: dict[str, str] | None = None,
        bootstrap: str | Path | list[str] | None = None,
        function_timeout_s: float = 30.0,
        freeze: bool = False,
        port: int = 0,
        timeline: TextIO | None = sys.stderr,
        *,
        runtime_log: TextIO | None = None,
        max_concurrency: int = 1,
    ) -> None:
        """`bootstrap`: what starts the runtime, a path or a command (default: this checkout's
        `bootstrap`, or `python -m lambda_ack` with this interpreter when installed).
        `runtime_log`, when set, gets the runtime's output line by line as it arrives.
        `max_concurrency` > 1 is a Managed Instances environment: that many invocations in
        flight at once, 429 beyond, no freeze, and a timeout that fails only its invocation."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if freeze and max_concurrency > 1:
            raise ValueError("Managed Instances never freeze: freeze needs max_concurrency=1")
        self.max_concurrency = max_concurrency
        self.handler = handler
        self.task_root = Path(task_root).resolve()
        self.command = runtime_command() if bootstrap is None else command_of(bootstrap)
        self.function_timeout_s = function_timeout_s
        self.freeze = freeze
        self.timelines: list[Timeline] = []
        self._ended: dict[str, Timeline] = {}
        self._timeline_stream = timeline
        self._runtime_log = runtime_log
        self._extra_env = dict(env or {})
        self._cond = threading.Condition()
        self._queue: collections.deque[Invocation] = collections.deque()
        # Handed to the runtime, not yet ended; with several workers, each one's by its pid.
        self._running: list[Invocation] = []
        self._worker_of: dict[int, Invocation] = {}
        self._seen_workers: set[int] = set()
        self._waiting = 0  # the runtime's /next requests waiting for an event: its free workers
        self._proc: subprocess.Popen | None = None
        self._fresh = False  # the running process has not been handed an event yet
        self._frozen = False
        self._closed = False
        self._submitted = 0
        self._timed_out_ids: set[str] = set()
        self._init_error: bytes | None = None
        self._output: list[str] = []
        # Taken after _cond, never before it; a condition, so a test can wait for a line.
        self._output_lock = threading.Condition()
        self._pipe: OutputPipe | None = None

        self._runtime_server = serve(self._runtime_request, 0)
        try:
            self._invoke_server = serve(self._invoke_request, port)
        except OSError as e:
            self._runtime_server.shutdown()
            self._runtime_server.server_close()
            raise taken(port, "--port", e) from None
        self.runtime_api_address = f"127.0.0.1:{self._runtime_server.server_address[1]}"
        self.invoke_address = f"127.0.0.1:{self._invoke_server.server_address[1]}"
        threading.Thread(target=self._enforce_timeouts, daemon=True).start()

    # -- the public side ------------------------------------------------------------------
    def invoke(
        self, event: object, headers: dict[str, str] | None = None, timeout: float = 60.0
    ) -> InvokeResult:
        """Invoke through the Invoke API, as any caller would; blocks until the caller's answer."""
        return invoke(self.invoke_address, event, headers, timeout)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every invoke received so far has ended and has its timeline."""
        self._wait(lambda: len(self.timelines) == self._submitted, timeout, "idle")

    def wait_ready(self, workers: int, timeout: float = 30.0) -> None:
        """Until `workers` of the runtime's workers wait for an event (all N, at start, once
        each has done its init); the runtime is started if it is not running."""
        with self._cond:
            if self._proc is None and not self._closed:
                self._start_runtime()
        self._wait(lambda: self._waiting >= workers, timeout, f"ready with {workers} workers")

    def wait_ended(self, request_id: str, timeout: float = 60.0) -> Timeline:
        """The timeline of invocation `request_id`, once it has ended (its deferred work too)."""
        self._wait(lambda: request_id in self._ended, timeout, f"done with {request_id}")
        return self._ended[request_id]

    def wait_queued(self, count: int, timeout: float = 10.0) -> None:
        """Until at least `count` invokes wait for the runtime (received, not handed over)."""
        self._wait(lambda: len(self._queue) >= count, timeout, f"{count} queued")

    @property
    def output(self) -> str:
        with self._output_lock:
            return "".join(self._output)

    def wait_output(self, text: str, timeout: float = 15.0, count: int = 1) -> str:
        """The output once it contains `text` (`count` times): lines come through a pipe, a
        little after the runtime wrote them (and after the timeline `wait_idle` waits for)."""
        return wait_for_text(self._output_lock, self._output, text, count, timeout, "the output")

    @property
    def runtime_pid(self) -> int | None:
        with self._cond:
            return self._proc.pid if self._proc else None

    def restart(self) -> None:
        """New code: once no invocation runs, the runtime process is stopped, and the next invoke
        starts a fresh one (a cold start), as a deployment gives new environments."""
        with self._cond:
            self._cond.wait_for(lambda: not self._running or self._closed)
            if not self._closed:
                self._kill_runtime()
                self._cond.notify_all()

    def close(self) -> None:
        """Stop as Lambda ends an environment: SIGTERM to the runtime (which, having registered
        an extension, reports the work it is cutting off), SIGKILL after the grace period."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()  # ends the extension's event/next
            self._shut_down_runtime()
            for inv in [*self._running, *self._queue]:
                inv.fail("Emulator.Closed", "the emulator was closed before an answer")
            self._cond.notify_all()
        for server in (self._invoke_server, self._runtime_server):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"emulator not {what} after {timeout} s")
                self._cond.wait(left)

    # -- the Invoke API -------------------------------------------------------------------
    def _invoke_request(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        path = http.path.split("?")[0]
        if _BUFFERED.fullmatch(path) and http.command == "POST":
            write = emulator_stream.write_buffered
        elif _STREAMING.fullmatch(path) and http.command == "POST":
            write = emulator_stream.write_eventstream
        elif path.startswith(_LAMBDA_API):
            return reply(http, 404, b'{"message": "unknown path"}')
        else:  # anything else is a request to the function's URL
            write = emulator_stream.write_function_url
            host = http.headers.get("Host") or self.invoke_address
            event = function_url.event_from(http.command, http.path, http.headers, body, host)
            body = json.dumps(event).encode()
        inv = Invocation(body, self._next_headers(http.headers))
        with self._cond:
            if self._closed:
                return reply(http, 503, b'{"message": "emulator closed"}')
            if len(self._queue) + len(self._running) >= self.max_concurrency > 1:
                return reply(http, 429, _ALL_BUSY, {"X-Amzn-ErrorType": "TooManyRequestsException"})
            self._submitted += 1
            self._queue.append(inv)
            if self._proc is None:
                self._start_runtime()
            self._cond.notify_all()
        inv.answered.wait()
        status, answer, headers = inv.answer  # type: ignore[misc]
        headers = {
            "X-Amzn-RequestId": inv.request_id,
            "X-Amz-Executed-Version": "$LATEST",
            **headers,
        }
        # The caller may have gone away; the invocation goes on regardless, as on Lambda.
        try:
            written = write(http, status, answer, headers)
        except OSError:
            written = time.perf_counter()
            if isinstance(answer, emulator_stream.Relay):
                answer.abandon()
        with self._cond:
            inv.written = written
            self._record_if_done(inv)

    def _next_headers(self, request_headers) -> dict[str, str]:
        name = self._extra_env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        region = self._extra_env.get("AWS_REGION", "us-east-1")
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Invoked-Function-Arn": arn,
            "Lambda-Runtime-Trace-Id": trace_id(),
        }
        for raw_name, value in request_headers.items():
            lower = raw_name.lower()
            if lower in _FORWARDED:
                headers[_FORWARDED[lower]] = value
            elif lower in _INVOKE_API_ALIASES:
                headers[_INVOKE_API_ALIASES[lower]] = value
            elif lower == "x-amz-client-context":
                try:
                    headers["Lambda-Runtime-Client-Context"] = base64.b64decode(value).decode()
                except (binascii.Error, UnicodeDecodeError):
                    headers["Lambda-Runtime-Client-Context"] = value
        return headers

    # -- bookkeeping ----------------------------------------------------------------------
    def _end(self, inv: Invocation, status: str) -> None:
        inv.status = status
        inv.ended = time.perf_counter()
        if inv in self._running:
            self._running.remove(inv)
        for worker, its in list(self._worker_of.items()):
            if its is inv:
                del self._worker_of[worker]
        inv.fail(
            "Emulator.NoResponse",
            "the runtime asked for the next event without posting a response or an error",
        )  # no-op when the caller already has its answer
        self._record_if_done(inv)
        self._cond.notify_all()

    def _record_if_done(self, inv: Invocation) -> None:
        if inv.ended is None or inv.written is None:
            return
        timeline = Timeline(
            request_id=inv.request_id,
            status=inv.status,
            timed_out=inv.timed_out,
            cold_start=inv.cold_start,
            ack_ms=ms(inv.received, inv.written),
            deferred_ms=None
            if inv.posted is None
            else ms(inv.stream_ended or inv.posted, inv.ended),
            queued_ms=ms(inv.received, inv.handed if inv.handed is not None else inv.ended),
            duration_ms=None if inv.handed is None else ms(inv.handed, inv.ended),
            total_ms=ms(inv.received, inv.ended),
            timeout_s=self.function_timeout_s,
            invocation_id=inv.echoed_invocation_id,
            streamed=None if inv.stream is None else inv.stream.size,
            first_byte_ms=None
            if inv.stream is None or inv.stream.first_out is None
            else ms(inv.received, inv.stream.first_out),
        )
        self.timelines.append(timeline)
        self._ended[inv.request_id] = timeline
        if self._timeline_stream is not None:
            print(timeline.line(), file=self._timeline_stream, flush=True)
        self._cond.notify_all()


def add_arguments(parser: argparse.ArgumentParser, handler_required: bool = True) -> None:
    parser.add_argument(
        "handler",
        nargs=None if handler_required else "?",
        help="module.function, e.g. handler_example/app.handler"
        + ("" if handler_required else " (default: the project's)"),
    )
    parser.add_argument("--task-root", help="the function's code folder (default: .)")
    parser.add_argument("--port", type=int, default=9000, help="Invoke API port (0: any free)")
    parser.add_argument("--timeout", type=float, default=30.0, help="function timeout, seconds")
    parser.add_argument("--freeze", action="store_true", help="SIGSTOP the runtime when idle")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=1,
        metavar="N",
        help="a Managed Instances environment: N invocations at once (429 beyond), no freeze",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="start the function afresh when a source file under the task root changes",
    )


def run(args: argparse.Namespace, prog: str = "emulator") -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        emulator = Emulator(
            args.handler,
            args.task_root or ".",
            function_timeout_s=args.timeout,
            freeze=args.freeze,
            port=args.port,
            max_concurrency=args.max_concurrency,
            runtime_log=sys.stderr,
        )
    except (PortTaken, ValueError) as e:
        sys.exit(f"{prog}: {e}")
    with emulator:
        print(
            f"{prog}: invoke with  curl -d '{{}}' "
            f"http://{emulator.invoke_address}{INVOKE_PATH}\n"
            f"{prog}: or as its Function URL:  curl -N http://{emulator.invoke_address}/\n"
            f"{prog}: Runtime API at {emulator.runtime_api_address}; Ctrl-C stops",
            flush=True,
        )
        if args.reload:
            from lambda_ack.cli.local.reload import watch

            watch(emulator.task_root, emulator.restart, stop, prog)
        stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="./dev emulate",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    run(parser.parse_args(argv))


DESCRIPTION = (
    "Run a handler on a local Lambda that answers the caller as soon as the runtime posts its "
    "response, and enforces the timeout over deferred work too."
)


if __name__ == "__main__":
    main()
