"""One persistent HTTP/1.1 connection to the Runtime API.

The Runtime API is a loopback peer that speaks plain HTTP/1.1 with keep-alive, so a raw socket
and a small reader beat `http.client` (which imports `ssl` and parses headers with the `email`
package) on start-up time and on CPU per invocation. This module knows HTTP framing and nothing
about Lambda; `runtime.api` gives the calls their meaning.
"""

from __future__ import annotations

import socket

_MAX_HEAD = 64 * 1024  # a status line and headers larger than this is not a Runtime API answer


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
        self._sock: socket.socket | None = None
        self._buf = b""
        self._host_header = f"{host}:{port}".encode()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

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
        head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host_header]
        if headers:
            head.extend(f"{name}: {value}".encode("latin-1") for name, value in headers.items())
        if body or method != "GET":
            head.append(b"Content-Length: " + str(len(body)).encode())
        data = b"\r\n".join(head) + b"\r\n\r\n"
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

    def _open(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port))
        except OSError as e:
            raise ConnectionFailed(f"cannot connect to {self.host}:{self.port}: {e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._buf = b""
        return sock

    def _fill(self) -> None:
        chunk = self._sock.recv(262144)  # type: ignore[union-attr]
        if not chunk:
            raise ConnectionFailed("the Runtime API closed the connection mid-response")
        self._buf += chunk

    def _read_response(self, method: str) -> Response:
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buf) > _MAX_HEAD:
                raise ConnectionFailed("response head too large")
            self._fill()
        head = self._buf[:end].decode("latin-1")
        self._buf = self._buf[end + 4 :]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ConnectionFailed(f"malformed status line {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines:
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
            if not length.isdigit():
                raise ConnectionFailed(f"malformed Content-Length {length[:40]!r}")
            body = self._read_exact(int(length))
        else:  # no framing: the body runs to the end of the connection
            body = self._read_to_close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        body, self._buf = self._buf[:n], self._buf[n:]
        return body

    def _read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ConnectionFailed("chunk size line too long")
            self._fill()
        line, self._buf = self._buf[:end], self._buf[end + 2 :]
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
        parts = [self._buf]
        while chunk := self._sock.recv(262144):  # type: ignore[union-attr]
            parts.append(chunk)
        self.close()
        return b"".join(parts)
