"""Reading a chunked HTTP request body as it arrives, trailers included.

`http.server` reads only bodies with a Content-Length; a streamed `/response` is chunked and may
end with the error trailers. The emulator and the tests' scripted Runtime API both read it here,
one chunk at a time, so a caller can be handed each chunk as the runtime sends it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

_MAX_LINE = 64 * 1024


class MalformedChunks(ValueError):
    """The body broke the chunked framing (or the peer hung up mid-body)."""


class ChunkedBody:
    """Iterate for the chunks (each as it was sent); `trailers` (names lower-cased) and
    `complete` are set once the final chunk has been read."""

    def __init__(self, rfile: BinaryIO) -> None:
        self._rfile = rfile
        self.trailers: dict[str, str] = {}
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        rfile = self._rfile
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise MalformedChunks(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                break
            data = rfile.read(size)
            if len(data) != size:
                raise MalformedChunks("the body ended mid-chunk")
            yield data
            if self._line():
                raise MalformedChunks("a chunk not followed by CRLF")
        while line := self._line():
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise MalformedChunks(f"bad trailer line {line[:80]!r}")
            self.trailers[name.strip().lower()] = value.strip()
        self.complete = True

    def _line(self) -> bytes:
        line = self._rfile.readline(_MAX_LINE)
        if not line.endswith(b"\n"):
            raise MalformedChunks("the body ended mid-line")
        return line.rstrip(b"\r\n")
