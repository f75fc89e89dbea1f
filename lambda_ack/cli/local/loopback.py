"""A loopback HTTP server that records what it receives, for stand-ins of the outside world.

The demo uses it as Slack's `response_url` and Web API; tests use it as a gate that deferred
callbacks block on (a held path answers only when the test releases it), so a test can control
exactly when work in another process goes on, with no sleeps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float = field(default_factory=time.perf_counter)  # arrival, perf_counter seconds

    def json(self):
        return json.loads(self.body)


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading server on loopback that says nothing when a peer goes away mid-answer: a
    runtime killed at a timeout or at shutdown is routine here, not an error to print."""

    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when many callers (or workers)
    # connect at once, as Managed Instances tests do.
    request_queue_size = 128

    def serve_forever(self, poll_interval: float = 0.02) -> None:
        """`shutdown()` returns once this loop notices, up to one poll interval later: the
        standard half second made each emulator stop (two servers) cost a second."""
        super().serve_forever(poll_interval)

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Answers every request 200 `{"ok": true}` (what Slack's endpoints answer), or what `answer`
    set for its path, and records it first.

    Requests to a path passed to `hold` wait, already recorded, until `release` of that path:
    a bare path holds it with any query string, a path with a query holds exactly that one.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._changed = threading.Condition()
        self._held: set[str] = set()
        self._answers: dict[str, bytes] = {}
        self._closed = False
        self._answering = 0  # requests recorded, their answers not yet written
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._serve(self)

            do_POST = do_PUT = do_GET

        self._http = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def answer(self, path: str, body: bytes) -> None:
        """Requests to `path` (with any query string) are answered `body`, as JSON."""
        self._answers[path] = body

    def hold(self, path: str) -> None:
        with self._changed:
            self._held.add(path)

    def release(self, path: str) -> None:
        with self._changed:
            self._held.discard(path)
            self._changed.notify_all()

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> Request:
        """The `count`-th request to `path`, once it has arrived."""

        def arrived() -> Request | None:
            hits = [r for r in self.requests if r.path == path]
            return hits[count - 1] if len(hits) >= count else None

        return self.wait_until(arrived, timeout, f"{count} request(s) to {path}")

    def wait_until(self, predicate: Callable[[], object], timeout: float, what: str = ""):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"waited {timeout} s for {what or predicate}")
                self._changed.wait(left)
            return value

    def close(self) -> None:
        """Every request recorded so far is answered first: a caller that reads a request as
        soon as it arrives, then closes (and exits, as `./dev invoke` does), must not cut off
        the answer its sender is still waiting for."""
        with self._changed:
            self._closed = True
            self._held.clear()
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._answering, timeout=5.0)
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _is_held(self, path: str) -> bool:
        return path in self._held or path.split("?", 1)[0] in self._held

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in http.headers.items()}
        with self._changed:
            self.requests.append(Request(http.command, http.path, headers, body))
            self._answering += 1
            self._changed.notify_all()
            while self._is_held(http.path) and not self._closed:
                self._changed.wait()
        try:
            answer = self._answers.get(http.path.split("?", 1)[0], b'{"ok": true}')
            http.send_response(200)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(answer)))
            http.end_headers()
            http.wfile.write(answer)
            http.wfile.flush()
        finally:
            with self._changed:
                self._answering -= 1
                self._changed.notify_all()
