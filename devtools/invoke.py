"""Sending one invoke to a local Lambda endpoint (RIE or `devtools.emulator`), as a caller would.

Both endpoints speak the Lambda Invoke API path, so one client serves both and the timing a user
sees is measured the same way.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


@dataclass
class InvokeResult:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    elapsed_ms: float = 0.0  # request sent → whole answer read, as the caller saw it

    def json(self):
        return json.loads(self.body)

    @property
    def function_error(self) -> str | None:
        """The X-Amz-Function-Error header: set when the invocation failed."""
        return self.headers.get("x-amz-function-error")


def invoke(
    address: str,
    event: bytes | str | object,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> InvokeResult:
    """POST `event` (bytes and str as they are, anything else as JSON) to `address` (host:port)."""
    if isinstance(event, bytes):
        body = event
    elif isinstance(event, str):
        body = event.encode()
    else:
        body = json.dumps(event).encode()
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request("POST", INVOKE_PATH, body, headers or {})
        response = conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return InvokeResult(
            response.status,
            data,
            {k.lower(): v for k, v in response.getheaders()},
            elapsed,
        )
    finally:
        conn.close()
