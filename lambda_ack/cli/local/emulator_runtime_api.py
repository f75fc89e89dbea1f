"""The emulator's Runtime API: what the runtime process talks to.

Part of `lambda_ack.cli.local.emulator.Emulator` (its state, `_cond` and the invocations, is set
up there): `/next` hands over the queued invocations one at a time, `/response` and `/error`
answer the waiting caller at once, a streamed `/response` is relayed chunk by chunk
(`lambda_ack.cli.local.emulator_stream`), and just enough of the Extensions API is served for the
runtime to register for SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

from lambda_ack.cli.local import emulator_stream, peer_process
from lambda_ack.cli.local.chunked import ChunkedBody, MalformedChunks
from lambda_ack.cli.local.emulator_invocation import MAX_RESPONSE_BYTES, Invocation, error_headers
from lambda_ack.cli.local.emulator_io import peer_alive, reply

RUNTIME_PREFIX = "/2018-06-01/runtime"
EXTENSION_PREFIX = "/2020-01-01/extension"


class RuntimeAPIServing:
    def _runtime_request(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        if http.path.startswith(EXTENSION_PREFIX):
            return self._extension_request(http)
        path = http.path.removeprefix(RUNTIME_PREFIX)
        if http.command == "GET" and path == "/invocation/next":
            return self._next(http)
        if http.command == "POST" and path == "/init/error":
            with self._cond:
                self._init_error = body or b'{"errorType": "Runtime.Unknown"}'
            return reply(http, 202, b'{"status": "OK"}')
        parts = path.split("/")  # "", "invocation", id, "response"|"error"
        if http.command == "POST" and len(parts) == 4 and parts[1] == "invocation":
            return self._post_outcome(http, parts[2], parts[3], body)
        reply(http, 404, b'{"errorType": "InvalidRequest", "errorMessage": "unknown path"}')

    def _next(self, http: BaseHTTPRequestHandler) -> None:
        worker = self._worker_pid(http)
        with self._cond:
            if not peer_alive(http.connection):
                return  # a /next from a process already killed: it must not end anything
            # What this /next ends: the invocation its worker had (the only one, with one).
            if worker is None:
                ended = self._running[0] if self._running else None
            else:
                ended = self._worker_of.get(worker)
            if ended is not None:
                if self._pipe is not None:
                    self._pipe.drain()  # its log lines belong to it: in `output` once it ends
                self._end(ended, ended.status)
            if self.freeze and not self._queue:
                self._freeze()
            self._cond.notify_all()
            self._waiting += 1
            try:
                while not self._queue and not self._closed:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            if self._closed or not peer_alive(http.connection):
                return
            inv = self._queue.popleft()
            inv.handed = time.perf_counter()
            inv.deadline = time.monotonic() + self.function_timeout_s
            inv.cold_start, self._fresh = self._fresh, False
            if worker is not None:
                inv.cold_start = worker not in self._seen_workers  # its first: its init before
                self._seen_workers.add(worker)
                self._worker_of[worker] = inv
            self._running.append(inv)
            if self._frozen:
                self._signal(signal.SIGCONT)
                self._frozen = False
            self._cond.notify_all()
        deadline_ms = int((time.time() + self.function_timeout_s) * 1000)
        headers = {
            **inv.next_headers,
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
        }
        reply(http, 200, inv.body, headers)

    def _worker_pid(self, http: BaseHTTPRequestHandler) -> int | None:
        """With several workers, the pid of the one asking (looked up once per connection)."""
        if self.max_concurrency == 1:
            return None
        pid = getattr(http, "worker_pid", None)
        if pid is None:
            proc = self._proc
            found = None if proc is None else peer_process.pid_of(http.connection, proc.pid)
            # Unknown (gone already): its own key, so it can end nothing of another worker's.
            pid = http.worker_pid = found if found is not None else -id(http)
            if found is not None and found not in self._seen_workers:
                threading.Thread(target=self._watch_worker, args=(found,), daemon=True).start()
        return pid

    def _watch_worker(self, pid: int) -> None:
        """A worker that dies mid-invocation (`sys.exit` in its handler, a crash): its caller
        hears `Runtime.ExitError`, and its slot is gone with it, as on Lambda."""
        import select

        try:
            exited = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            select.select([exited], [], [])
        finally:
            os.close(exited)
        with self._cond:
            inv = self._worker_of.pop(pid, None)
            if inv is not None:
                error = f"RequestId: {inv.request_id} Error: Runtime exited (worker {pid})"
                inv.fail("Runtime.ExitError", error)
                self._end(inv, "exited")

    def _post_outcome(self, http, request_id: str, kind: str, body: bytes) -> None:
        with self._cond:
            inv = next((i for i in self._running if i.request_id == request_id), None)
            # Timed out: gone, or (Managed Instances) still running past its time.
            if inv is None or inv.timed_out:
                if request_id in self._timed_out_ids:
                    return reply(http, 410, b'{"errorType": "InvocationTimedOut"}')
                return reply(http, 400, b'{"errorType": "InvalidRequestID"}')
            if inv.posted is not None:
                return reply(http, 403, b'{"errorType": "InvalidStateTransition"}')
            if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
                return reply(http, 413, b'{"errorType": "RequestEntityTooLarge"}')
            if kind not in ("response", "error"):
                return reply(http, 404, b'{"errorType": "InvalidRequest"}')
            inv.posted = time.perf_counter()
            inv.echoed_invocation_id = http.headers.get("Lambda-Runtime-Invocation-Id")
            relay = None
            if kind == "response":
                inv.status = "ok"
                content_type = http.headers.get("Content-Type") or "application/json"
                if http.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    relay = inv.stream = emulator_stream.Relay(content_type)
                inv.respond(200, relay or body, {"Content-Type": content_type})
            else:
                inv.status = "error"
                inv.respond(200, body, error_headers())
        if relay is None or self._relay(http, inv, relay):
            reply(http, 202, b'{"status": "OK"}')

    def _relay(self, http: BaseHTTPRequestHandler, inv: Invocation, relay) -> bool:
        """Pass a streamed response on, chunk by chunk; False if the runtime broke off."""
        reader = ChunkedBody(http.rfile)
        try:
            for chunk in reader:
                relay.put(chunk)
        except (MalformedChunks, OSError):
            with self._cond:
                error = "Sandbox.Timedout" if inv.timed_out else "Runtime.ExitError"
            message = f"RequestId: {inv.request_id} Error: the stream was cut off ({error})"
            body = json.dumps({"errorType": error, "errorMessage": message}).encode()
            relay.finish(error, body)
            http.close_connection = True
            return False
        relay.finish_with_trailers(reader.trailers)
        with self._cond:
            inv.stream_ended = time.perf_counter()
            if relay.error_type is not None:
                inv.status = "error"
        return True

    def _extension_request(self, http: BaseHTTPRequestHandler) -> None:
        """Just enough of the Extensions API for an internal extension that subscribes to no
        events: registering is what makes Lambda (and this emulator) send SIGTERM at shutdown."""
        path = http.path.removeprefix(EXTENSION_PREFIX)
        if http.command == "POST" and path == "/register":
            info = {"functionName": "function", "functionVersion": "$LATEST"}
            info["handler"] = self.handler
            headers = {"Content-Type": "application/json"}
            headers["Lambda-Extension-Identifier"] = str(uuid.uuid4())
            return reply(http, 200, json.dumps(info).encode(), headers)
        if http.command == "GET" and path == "/event/next":
            with self._cond:  # no subscribed events: it stays open until the emulator closes
                while not self._closed:
                    self._cond.wait()
            return reply(http, 200, b'{"eventType": "SHUTDOWN", "shutdownReason": "spindown"}')
        reply(http, 404, b'{"errorType": "InvalidRequest", "errorMessage": "unknown path"}')
