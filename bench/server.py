"""The benchmark's Runtime API: the measuring instrument, so it has to be cheap and identical for
both runtimes.

One thread, one selector, no HTTP library. The driver owns the loop: `run` answers exactly the
`/next` calls it was asked to and returns once the runtime is idle again (blocked in the next
`/next`), so the driver reads `/proc` while the runtime does nothing. An answer to `/next` is one
formatted string (request id, deadline) and one `sendall`.
Timestamps are `perf_counter_ns` taken right after an answer is written and right after a
request has been read whole, so a round trip includes the kernel's loopback hops both ways and
nothing of the driver's bookkeeping.
"""

from __future__ import annotations

import selectors
import socket
import subprocess
import time
from dataclasses import dataclass, field

NEXT_PATH = b"/2018-06-01/runtime/invocation/next"
RESTORE_PATH = b"/2018-06-01/runtime/restore/next"
EXTENSION_PREFIX = b"/2020-01-01/extension/"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"
_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
_ACCEPTED += b'{"status":"OK"}\n'
_REGISTERED = (
    b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: bench-extension\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_RESTORED = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_MAX_HEAD = 64 * 1024


class BenchFailure(RuntimeError):
    """The runtime under test died, hung or reported an error: the run measures nothing."""


@dataclass
class Phase:
    """What `Server.run` saw, one entry per invocation, in nanoseconds of `perf_counter_ns`."""

    answered: list[int] = field(default_factory=list)  # `/next` answer written
    responded: list[int] = field(default_factory=list)  # `/response` read whole
    next_seen: list[int] = field(default_factory=list)  # the following `/next` read whole

    def acks_ns(self) -> list[int]:
        return [r - a for a, r in zip(self.answered, self.responded, strict=True)]


class _Peer:
    __slots__ = ("sock", "buf", "continued")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.continued = False


class Server:
    """A Runtime API on 127.0.0.1 that serves one runtime process at a time, which may have
    several workers asking `/next` at once (Managed Instances, `bench/concurrency.py`)."""

    def __init__(self, timeout_ms: int = 60_000) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._timeout_ms = timeout_ms
        self._serial = 0
        self._held: list[_Peer] = []  # the `/next` requests the runtime's workers wait in
        self._workers = 1
        self._held_ns = 0
        self._phase: Phase | None = None
        self._body = b""
        self._left = 0
        # SnapStart: the runtime's `/restore/next`, held until `restore()` (its snapshot would
        # be taken meanwhile).
        self._restoring: _Peer | None = None

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    # -- what the driver calls ---------------------------------------------------------------
    def wait_idle(self, proc: subprocess.Popen, timeout_s: float = 60.0, workers: int = 1) -> int:
        """Block until the runtime's `workers` wait in `/next`; return when the last of those
        requests arrived (ns)."""
        self._left = 0
        self._workers = workers
        self._loop(proc, timeout_s)
        return self._held_ns

    def run(
        self,
        proc: subprocess.Popen,
        body: bytes,
        count: int,
        timeout_s: float = 300.0,
        settle: bool = True,
    ) -> Phase:
        """Hand `count` events with `body` to a runtime that is waiting, one at a time.

        With `settle` it returns once the runtime waits in `/next` again (its deferred work done);
        without, as soon as the last `/response` has arrived.
        """
        if not self._held:
            raise BenchFailure("run() needs a runtime waiting in /next (call wait_idle first)")
        self._phase = Phase()
        self._body = body
        self._left = count
        while self._held and self._left:
            self._answer_next(self._held.pop(0))
        self._loop(proc, timeout_s, None if settle else count)
        phase, self._phase = self._phase, None
        return phase

    def wait_restore(self, proc: subprocess.Popen, timeout_s: float = 60.0) -> int:
        """Block until the runtime waits in `/restore/next` (SnapStart: initialised, ready for
        its snapshot); return when that request arrived (ns)."""
        self._left = 0
        self._serve_until(proc, timeout_s, lambda: self._restoring is not None)
        return self._held_ns

    def restore(self, proc: subprocess.Popen, body: bytes, timeout_s: float = 60.0) -> int:
        """Answer `/restore/next`, as Lambda does in an environment restored for an event, with
        that event (`body`) waiting for the runtime's `/next`; return the nanoseconds from the
        restore to the event's `/response`."""
        peer, self._restoring = self._restoring, None
        if peer is None:
            raise BenchFailure("restore() needs a runtime waiting in /restore/next")
        self._phase = Phase()
        self._body = body
        self._left = 1
        restored = time.perf_counter_ns()
        peer.sock.sendall(_RESTORED)
        self._loop(proc, timeout_s, 1)
        phase, self._phase = self._phase, None
        return phase.responded[0] - restored

    def forget(self) -> None:
        """Drop every connection of a runtime that has been killed, queued ones included.

        Call it only once the process is gone: a live client whose connection is closed under
        it reconnects and queues a `/next` that the next runtime's run would take for its own.
        """
        for key in list(self._selector.get_map().values()):
            if key.fileobj is not self._listener:
                self._selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
        while True:
            try:
                self._listener.accept()[0].close()
            except BlockingIOError:
                break
        self._held = []
        self._workers = 1
        self._restoring = None

    # -- the loop ----------------------------------------------------------------------------
    def _loop(self, proc: subprocess.Popen, timeout_s: float, responses: int | None = None) -> None:
        """Serve until the runtime is held in `/next`, or until `responses` have arrived."""
        done = self._phase.responded if responses is not None and self._phase else None
        self._serve_until(
            proc,
            timeout_s,
            lambda: (
                not (len(self._held) < self._workers or self._left)
                or (done is not None and len(done) >= responses)
            ),
        )

    def _serve_until(self, proc: subprocess.Popen, timeout_s: float, finished) -> None:
        deadline = time.monotonic() + timeout_s
        select = self._selector.select
        while not finished():
            ready = select(0.25)
            if not ready:
                if proc.poll() is not None:
                    raise BenchFailure(f"the runtime exited with status {proc.returncode}")
                if time.monotonic() > deadline:
                    raise BenchFailure(f"no progress within {timeout_s:.0f} s")
                continue
            for key, _ in ready:
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._read(key.data)

    def _accept(self) -> None:
        sock, _ = self._listener.accept()
        sock.setblocking(True)  # writes block (the runtime is reading); reads follow readiness
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._selector.register(sock, selectors.EVENT_READ, _Peer(sock))

    def _read(self, peer: _Peer) -> None:
        chunk = peer.sock.recv(1 << 20)
        if not chunk:
            self._selector.unregister(peer.sock)
            peer.sock.close()
            if peer in self._held:
                self._held.remove(peer)
            return
        peer.buf += chunk
        while self._request(peer):
            pass

    def _request(self, peer: _Peer) -> bool:
        """Serve the first complete request in `peer.buf`; False when it is still incomplete."""
        buf = peer.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD:
                raise BenchFailure("request head too large")
            return False
        head = buf[:end].lower()
        length = 0
        at = head.find(b"\ncontent-length:")
        if at >= 0:
            stop = head.find(b"\r", at + 16)
            length = int(head[at + 16 : stop if stop >= 0 else None])
        if length and len(buf) < end + 4 + length:
            if not peer.continued and b"\nexpect: 100-continue" in head:
                peer.continued = True
                peer.sock.sendall(_CONTINUE)
            return False
        if b"\ntransfer-encoding:" in head:
            raise BenchFailure("chunked requests are not supported by the bench server")
        now = time.perf_counter_ns()
        peer.buf = buf[end + 4 + length :]
        peer.continued = False
        method, path = head.split(b" ", 2)[:2]
        if method == b"get" and path == NEXT_PATH:
            self._on_next(peer, now)
        elif method == b"get" and path == RESTORE_PATH:
            self._restoring = peer
            self._held_ns = now
        elif path.startswith(EXTENSION_PREFIX):
            self._on_extension(peer, path)
        elif method == b"post" and path.endswith(b"/response"):
            if self._phase is not None:
                self._phase.responded.append(now)
            peer.sock.sendall(_ACCEPTED)
        else:
            body = buf[end + 4 : end + 4 + length]
            raise BenchFailure(f"unexpected {head.split(b' ', 2)[:2]}: {body[:300]!r}")
        return True

    def _on_next(self, peer: _Peer, now: int) -> None:
        phase = self._phase
        if phase is not None and phase.responded:
            phase.next_seen.append(now)
        if self._left:
            self._answer_next(peer)
        else:
            self._held.append(peer)
            self._held_ns = now

    @staticmethod
    def _on_extension(peer: _Peer, path: bytes) -> None:
        """The Extensions API as Lambda has it for an extension subscribed to nothing.

        Registration is answered; the extension's `event/next` is left open for good, as Lambda
        leaves it until shutdown. lambda-ack registers one (to receive SIGTERM) at init, so its
        init pays that round trip here as it does on Lambda.
        """
        if path.endswith(b"/register"):
            peer.sock.sendall(_REGISTERED)

    def _answer_next(self, peer: _Peer) -> None:
        self._left -= 1
        self._serial += 1
        deadline = int(time.time() * 1000) + self._timeout_ms
        head = (
            f"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: bench-{self._serial}\r\n"
            f"Lambda-Runtime-Deadline-Ms: {deadline}\r\n"
            f"Lambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\n"
            f"Lambda-Runtime-Trace-Id: Root=1-bench-{self._serial};Sampled=0\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self._body)}\r\n\r\n"
        ).encode()
        peer.sock.sendall(head + self._body)
        if self._phase is not None:
            self._phase.answered.append(time.perf_counter_ns())
