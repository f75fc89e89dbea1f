"""The emulator's plumbing: its loopback HTTP servers and the pipe of the runtime's output."""

from __future__ import annotations

import codecs
import os
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

from lambda_ack.cli.local.loopback import QuietHTTPServer


class OutputPipe:
    """The runtime's stdout and stderr, read by a thread and also on demand.

    Reading on demand when an invocation ends puts everything the runtime wrote before asking
    for the next event into `output` before `wait_idle` returns, so tests can read its log lines
    without waiting for a reader thread to catch up.
    """

    def __init__(self, stream, sink, lock: threading.Lock) -> None:
        self._stream = stream  # kept: its file descriptor lives as long as it does
        self._fd = stream.fileno()
        os.set_blocking(self._fd, False)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._sink = sink
        self._lock = lock

    def follow(self) -> None:
        """Until end of file (the process and all its children have closed it)."""
        while True:
            select.select([self._fd], [], [])
            if not self.drain():
                return

    def drain(self) -> bool:
        """Take in what has been written so far; False at end of file."""
        with self._lock:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if chunk:
                    self._sink(self._decoder.decode(chunk))
                else:
                    return False


def peer_alive(sock: socket.socket) -> bool:
    """False once the peer closed the connection (a killed runtime's /next still in flight)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable or sock.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


def serve(handle, port: int) -> QuietHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            length = int(self.headers.get("Content-Length") or 0)
            handle(self, self.rfile.read(length) if length else b"")

        # A Function URL takes any method (`lambda_ack.cli.local.function_url`).
        do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    server = QuietHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def reply(
    http: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> float:
    """Answer; returns when it began to go out (`perf_counter`): no peer can have read all of
    it before then, whatever thread gets the GIL once it is out."""
    http.send_response(status)
    for name, value in (headers or {"Content-Type": "application/json"}).items():
        http.send_header(name, value)
    http.send_header("Content-Length", str(len(body)))
    sent = time.perf_counter()
    http.end_headers()
    http.wfile.write(body)
    return sent
