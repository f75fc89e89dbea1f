"""One persistent HTTP/1.1 connection to the Runtime API.

The Runtime API is a loopback peer that speaks plain HTTP/1.1 with keep-alive, so a raw socket
and a small reader beat `http.client` (which imports `ssl` and parses headers with the `email`
package) on start-up time and on CPU per invocation. This module knows HTTP framing and nothing
about Lambda; `lambda_ack.api` gives the calls their meaning.

It uses `_socket`, the C module under `socket`: the Python layer pulls in `selectors` and more
(~2 ms at cold start) for features this connection does not use. Host names are passed to
`getaddrinfo` as bytes so that the IDNA codec (another ~2 ms of imports) is never loaded.
"""

from __future__ import annotations

import _socket
from collections.abc import Callable, Iterable
from itertools import islice

_MAX_HEAD = 64 * 1024  # a status line and headers larger than this is not a Runtime API answer
# Each recv allocates this much before shrinking to what arrived. Above glibc's mmap threshold
# (128 KiB) every call would map and unmap fresh pages: measured, 256 KiB cost 35% more CPU per
# invocation than 64 KiB. Larger bodies are received in place (`_read_exact`).
_RECV_SIZE = 64 * 1024


class ConnectionFailed(OSError):
    """The peer could not be reached, or hung up or broke the protocol mid-exchange."""


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # names lower-cased
        self.body = body


class Connection:
    """A keep-alive connection, reopened transparently when the peer closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: _socket.socket | None = None
        self._buf = b""
        self._pos = 0  # where the unread part of _buf starts: no re-slicing per step
        self._host_header = f"{host}:{port}"

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""
                self._pos = 0

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request and read its whole answer.

        No timeout: `/next` blocks for as long as the environment waits for an event, and the
        environment may be frozen in between. Any failure closes the socket so that the next
        call starts on a fresh connection.
        """
        framing = f"Content-Length: {len(body)}\r\n" if body or method != "GET" else None
        data = self._head(method, path, headers, framing)
        try:
            sock = self._sock or self._open()
            if len(body) < 65536:
                sock.sendall(data + body)
            else:  # skip copying a large body just to prepend the head
                sock.sendall(data)
                sock.sendall(body)
            return self._read_response(method)
        except ConnectionFailed:
            self.close()
            raise
        except (OSError, ValueError) as e:
            self.close()
            raise ConnectionFailed(f"{method} {path}: {e}") from e

    def stream(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        chunks: Iterable[bytes],
        trailers: Callable[[], dict[str, str]],
    ) -> Response:
        """Send a chunked request, each chunk as `chunks` yields it, then the trailers that
        `trailers()` gives once it is exhausted; read the answer and close the connection.

        It goes on the connection `/next` used, which was idle while the handler ran: one the
        peer has closed meanwhile is replaced before anything is sent, and a first write that
        finds it gone is made again on a fresh one (a stream cannot be sent again once any of
        it may have reached the peer, so only the first). The connection is closed after the
        stream, as the Runtime API asks. `chunks` must not raise: what it yields is sent, and a
        failure of its source belongs in the trailers.
        """
        pending = self._head(method, path, headers, "Transfer-Encoding: chunked\r\n")
        try:
            self._drop_if_closed()
            sock = self._sock or self._open()
            first = True
            for chunk in chunks:
                frames = _frames(pending, chunk)
                if first:
                    first = False
                    try:
                        _send(sock, frames)
                    except OSError:  # the peer had dropped it: nothing of the stream arrived
                        self.close()
                        sock = self._open()
                        _send(sock, frames)
                else:
                    _send(sock, frames)
                pending = b""
            tail = b"".join(
                f"{name}: {value}\r\n".encode("latin-1") for name, value in trailers().items()
            )
            sock.sendall(pending + b"0\r\n" + tail + b"\r\n")
            return self._read_response(method)
        except ConnectionFailed:
            raise
        except OSError as e:
            raise ConnectionFailed(f"{method} {path}: {e}") from e
        finally:
            self.close()

    def _drop_if_closed(self) -> None:
        """Close the kept-alive socket if the peer has closed its end (or sent what no request
        asked for): a non-blocking peek, one system call."""
        sock = self._sock
        if sock is None:
            return
        try:
            sock.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT)
        except BlockingIOError:
            return  # open, and nothing unasked for to read
        except OSError:
            pass
        self.close()

    def _head(
        self, method: str, path: str, headers: dict[str, str] | None, framing: str | None
    ) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
        if headers:
            for name, value in headers.items():
                head += f"{name}: {value}\r\n"
        if framing is not None:
            head += framing
        return (head + "\r\n").encode("latin-1")

    def _open(self) -> _socket.socket:
        try:
            addresses = _socket.getaddrinfo(
                self.host.encode(), self.port, 0, _socket.SOCK_STREAM, _socket.IPPROTO_TCP
            )
        except OSError as e:
            raise ConnectionFailed(f"cannot resolve {self.host}: {e}") from e
        error: OSError | None = None
        for family, kind, proto, _, address in addresses:
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(address)
            except OSError as e:
                sock.close()
                error = e
                continue
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self._sock = sock
            self._buf = b""
            self._pos = 0
            return sock
        raise ConnectionFailed(f"cannot connect to {self.host}:{self.port}: {error}")

    def _fill(self) -> None:
        chunk = self._sock.recv(_RECV_SIZE)  # type: ignore[union-attr]
        if not chunk:
            raise ConnectionFailed("the Runtime API closed the connection mid-response")
        self._buf = self._buf[self._pos :] + chunk if self._pos else self._buf + chunk
        self._pos = 0

    def _read_response(self, method: str) -> Response:
        while True:
            end = self._buf.find(b"\r\n\r\n", self._pos)
            if end >= 0:
                break
            if len(self._buf) - self._pos > _MAX_HEAD:
                raise ConnectionFailed("response head too large")
            self._fill()
        lines = self._buf[self._pos : end].decode("latin-1").split("\r\n")
        self._pos = end + 4
        status_line = lines[0]  # "HTTP/1.1 202 Accepted": the code is always at [9:12]
        code = status_line[9:12]
        if (
            not status_line.startswith("HTTP/1.")
            or status_line[8:9] != " "
            or not (code.isascii() and code.isdigit() and len(code) == 3)
            or status_line[12:13] not in ("", " ")
        ):
            raise ConnectionFailed(f"malformed status line {status_line[:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in islice(lines, 1, None):
            name, sep, value = line.partition(":")
            if not sep:
                raise ConnectionFailed(f"malformed header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()

        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            length = headers["content-length"]
            if not (length.isascii() and length.isdigit()):  # "¹".isdigit() is True
                raise ConnectionFailed(f"malformed Content-Length {length[:40]!r}")
            body = self._read_exact(int(length))
        else:  # no framing: the body runs to the end of the connection
            body = self._read_to_close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        elif self._pos == len(self._buf):  # drop the consumed bytes, however large they were
            self._buf, self._pos = b"", 0
        return Response(status, headers, body)

    def _read_exact(self, n: int) -> bytes:
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have >= n:
            self._pos = pos + n
            return buf[pos : pos + n]
        # A large body: receive straight into its final place instead of growing a buffer.
        body = bytearray(n)
        body[:have] = buf[pos:]
        view = memoryview(body)
        while have < n:
            got = self._sock.recv_into(view[have:])  # type: ignore[union-attr]
            if not got:
                raise ConnectionFailed("the Runtime API closed the connection mid-response")
            have += got
        self._buf, self._pos = b"", 0
        return bytes(body)

    def _read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n", self._pos)) < 0:
            if len(self._buf) - self._pos > _MAX_HEAD:
                raise ConnectionFailed("chunk size line too long")
            self._fill()
        line = self._buf[self._pos : end]
        self._pos = end + 2
        return line

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ConnectionFailed(f"malformed chunk size {size_text[:20]!r}") from None
            if size == 0:
                while self._read_line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(self._read_exact(size))
            if self._read_line():
                raise ConnectionFailed("chunk not followed by CRLF")

    def _read_to_close(self) -> bytes:
        parts = [self._buf[self._pos :]]
        while chunk := self._sock.recv(_RECV_SIZE):  # type: ignore[union-attr]
            parts.append(chunk)
        self.close()
        return b"".join(parts)


def _frames(pending: bytes, chunk: bytes) -> tuple[bytes, ...]:
    """One chunk of a chunked body, after what is `pending` (the request head, for the first)."""
    size = b"%x\r\n" % len(chunk)
    if len(chunk) < 65536:
        return (pending + size + chunk + b"\r\n",)
    return (pending + size, chunk, b"\r\n")  # skip copying a large chunk just to frame it


def _send(sock: _socket.socket, frames: tuple[bytes, ...]) -> None:
    for frame in frames:
        sock.sendall(frame)
