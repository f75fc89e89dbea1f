"""A scripted Runtime API on loopback, for behaviour the real emulator cannot show.

RIE hands the caller its response only when the runtime asks for the next event, and it cannot
inject faults; this server records every request in one ordered timeline (including marks that
test handlers post from their deferred callbacks) and answers as each test scripts it.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lambda_ack.cli.local.chunked import ChunkedBody
from lambda_ack.cli.local.lambda_env import lambda_env

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = Path(__file__).resolve().parent / "handlers"
PREFIX = "/2018-06-01/runtime"
CLOSE, TRUNCATE, HOLD = -1, -2, -3
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


class Record:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers  # names lower-cased
        self.body = body
        # A streamed (chunked) post: each chunk with its arrival time, as it arrives; the
        # trailers and `complete` once the final chunk is in.
        self.chunks: list[tuple[float, bytes]] = []
        self.trailers: dict[str, str] = {}
        self.complete = True
        self.size = len(body)
        self.at = time.perf_counter()  # when its head arrived
        self.peer_port = 0  # the runtime's end of the connection it came on

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} {self.body[:60]!r}>"


class FakeRuntimeAPI:
    """Events are queued with `push`; `/next` blocks until one is there."""

    def __init__(self, extensions: bool = False) -> None:
        self.extensions = extensions  # serve the Extensions API (registration for SIGTERM)
        self.records: list[Record] = []
        self.changed = threading.Condition()
        self.events: queue.Queue = queue.Queue()
        self.events_closed = threading.Event()
        self._released = threading.Event()
        # endpoint ("next", "response", "error", "init/error") -> (status, body) answers given,
        # one per request, before the normal behaviour resumes. Status CLOSE hangs up without
        # answering; TRUNCATE announces the body's length, sends part of it and hangs up; HOLD
        # answers 202 only once `release()` is called (the request is recorded at once).
        self.scripted: dict[str, list[tuple[int, bytes]]] = {}
        self._ids = itertools.count(1)
        self.keep_streams = True
        # `hang_up_after_next()`: the next /next answer's connection is closed by this side
        # once answered; `hung_up` is set when it is (a handler can wait for it at /wait/hung-up).
        self._hang_up_next = False
        self._hanging: set[object] = set()
        self.hung_up = threading.Event()
        # SnapStart: `/restore/next` is answered once `restore()` is called, as Lambda answers
        # it in an environment restored from the snapshot taken while it waited.
        self._restored = threading.Event()
        self._drop_after_restore = False
        # The extension's held `event/next` calls, each ended without an answer when set.
        self._extension_waits: list[threading.Event] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                api._serve(self, "GET")

            def do_POST(self):
                api._serve(self, "POST")

        class Server(ThreadingHTTPServer):
            def shutdown_request(self, request):
                super().shutdown_request(request)
                if request in api._hanging:
                    api.hung_up.set()

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        # A short poll: `shutdown()` waits up to one interval, half a second by default.
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self._released.set()
        self._restored.set()
        self.events_closed.set()
        for dropped in self._extension_waits:
            dropped.set()
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()

    # -- scripting -------------------------------------------------------------------------
    def push(
        self,
        event: object = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_ms: int = 30000,
    ) -> str:
        request_id = f"req-{next(self._ids)}"
        sent = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Lambda-Runtime-Trace-Id": f"Root=1-{request_id}",
            "Content-Type": "application/json",
        }
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        self.events.put((sent, json.dumps(event).encode() if body is None else body))
        return request_id

    def hang_up_after_next(self) -> None:
        """Close the connection of the next /next answer once it is sent, as a Runtime API may
        drop a kept-alive connection while the handler runs."""
        self._hang_up_next = True

    def restore(self, drop_connection: bool = False) -> None:
        """Answer `/restore/next`; `drop_connection`: then close that connection, as the
        socket from before a snapshot does not survive it."""
        self._drop_after_restore = drop_connection
        if drop_connection:  # the extension's connection is gone with the runtime's
            for dropped in self._extension_waits:
                dropped.set()
        self._restored.set()

    def release(self) -> None:
        """Answer the requests scripted with HOLD."""
        self._released.set()

    def script(self, endpoint: str, *answers: tuple[int, bytes]) -> None:
        self.scripted.setdefault(endpoint, []).extend(answers)

    # -- observing -------------------------------------------------------------------------
    def wait_for(self, predicate, timeout: float = 20.0):
        """Block until `predicate(records)` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (value := predicate(self.records)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; records: {self.records}")
                self.changed.wait(left)
            return value

    def outcome(self, request_id: str, timeout: float = 20.0) -> Record:
        """The /response or /error the runtime posted for `request_id`."""
        ends = (f"/invocation/{request_id}/response", f"/invocation/{request_id}/error")
        return self.wait_for(
            lambda rs: next((r for r in rs if r.path.endswith(ends)), None), timeout
        )

    def paths(self) -> list[str]:
        """Runtime API and mark paths in order; Extensions API calls are left out."""
        with self.changed:
            return [
                r.path.removeprefix(PREFIX)
                for r in self.records
                if not r.path.startswith("/2020-01-01/extension")
            ]

    # -- serving ---------------------------------------------------------------------------
    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        record = Record(method, http.path, {k.lower(): v for k, v in http.headers.items()}, body)
        record.peer_port = http.client_address[1]
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()
        if record.headers.get("transfer-encoding", "").lower() == "chunked":
            self._read_stream(http, record)
        suffix = http.path.removeprefix(PREFIX)
        answers = self.scripted.get(_endpoint(suffix))
        if answers:
            status, answer = answers.pop(0)
            if status == HOLD:
                self._released.wait()
                status, answer = 202, b'{"status":"OK"}'
            return self._answer(http, status, answer)
        if http.path == "/2020-01-01/extension/register" and self.extensions:
            return self._answer(http, 200, b"{}", {"Lambda-Extension-Identifier": "ext-1"})
        if http.path == "/2020-01-01/extension/event/next" and self.extensions:
            # No subscriptions: stays open while the process lives, or until a restore drops it.
            dropped = threading.Event()
            self._extension_waits.append(dropped)
            if not self.events_closed.is_set():  # close() sets every `dropped` after this
                dropped.wait()
            http.close_connection = True
            return
        if http.path == "/wait/hung-up":
            self.hung_up.wait(10)
            return self._answer(http, 200, b"")
        if method == "GET" and suffix == "/restore/next":
            self._restored.wait()
            self._answer(http, 200, b"")
            http.close_connection = self._drop_after_restore
            return
        if method == "GET" and suffix == "/invocation/next":
            item = self.events.get()
            if item is None:
                self.events.put(None)
                return self._answer(http, 500, b'{"errorMessage":"server closing"}')
            headers, event = item
            self._answer(http, 200, event, headers)
            if self._hang_up_next:
                self._hang_up_next = False
                self._hanging.add(http.request)
                http.close_connection = True
            return
        if method == "POST":
            return self._answer(http, 202, b'{"status":"OK"}')
        self._answer(http, 404, b"not found")

    def _read_stream(self, http: BaseHTTPRequestHandler, record: Record) -> None:
        """Each chunk into the record as it arrives: a test can watch a stream grow. With
        `keep_streams=False` chunks are counted, not kept (a 200 MB stream)."""
        record.complete = False
        reader = ChunkedBody(http.rfile)
        size = 0
        for chunk in reader:
            size += len(chunk)
            with self.changed:
                record.chunks.append((time.perf_counter(), chunk if self.keep_streams else b""))
                self.changed.notify_all()
        with self.changed:
            record.body = b"".join(c for _, c in record.chunks) if self.keep_streams else b""
            record.trailers, record.complete, record.size = reader.trailers, True, size
            self.changed.notify_all()

    @staticmethod
    def _answer(http, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        if status == CLOSE:
            http.close_connection = True
            return
        try:
            if status == TRUNCATE:
                http.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body[:10])
                http.close_connection = True
                return
            http.send_response(status)
            for name, value in (headers or {}).items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(body)))
            http.end_headers()
            http.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the runtime was stopped while it waited: nobody to answer


def _endpoint(suffix: str) -> str:
    if suffix.startswith("/invocation/") and suffix != "/invocation/next":
        return suffix.rsplit("/", 1)[-1]
    return suffix.lstrip("/").removeprefix("invocation/")


class RuntimeProcess:
    """`./bootstrap` as Lambda starts it, with its stdout collected line by line."""

    def __init__(
        self,
        api_address: str,
        handler: str,
        env: dict[str, str] | None = None,
        bootstrap: Path = ROOT / "bootstrap",
        cwd: Path = HANDLERS,
        command: list[str] | None = None,
    ) -> None:
        """`command` replaces `[bootstrap]`: the runtime started another way users start it
        (`python -m lambda_ack`, as an image's entrypoint)."""
        full_env = lambda_env(
            HANDLERS,
            {
                "AWS_LAMBDA_RUNTIME_API": api_address,
                "_HANDLER": handler,
                "LAMBDA_RUNTIME_PYTHON": sys.executable,
                "AWS_LAMBDA_FUNCTION_NAME": "f",
                "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/f",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]abc",
                **(env or {}),
            },
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            command or [str(bootstrap)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:  # type: ignore[union-attr]
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_output(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in "".join(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{text!r} never logged; output:\n{''.join(self.lines)}")
                self._changed.wait(left)
            return "".join(self.lines)

    def wait_exit(self, timeout: float = 20.0) -> int:
        """The exit status, once everything the process wrote has been collected."""
        status = self.proc.wait(timeout)
        self._reader.join(timeout)
        return status

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def runtime():
    """Factory: `api, proc = runtime("module.function", **env)`; all are stopped at teardown.
    `bootstrap`: another copy of it (an unpacked zip's, one away from the package)."""
    started: list[tuple[FakeRuntimeAPI, RuntimeProcess]] = []

    def start(
        handler: str, extensions: bool = False, bootstrap: Path = ROOT / "bootstrap", **env: str
    ) -> tuple[FakeRuntimeAPI, RuntimeProcess]:
        api = FakeRuntimeAPI(extensions)
        proc = RuntimeProcess(api.address, handler, env, bootstrap=bootstrap)
        started.append((api, proc))
        return api, proc

    yield start
    for api, proc in started:
        proc.stop()
        api.close()
