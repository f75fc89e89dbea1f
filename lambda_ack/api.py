"""The Lambda Runtime API client: the four calls a runtime makes, and what their answers mean.

Rules taken from the API contract:
- `/next` gets no client timeout: the environment may be frozen while it waits.
- A 500 from any call means the runtime must exit (`RuntimeAPIFatal`).
- A 4xx on `/response` or `/error` (403 already answered, 410 timed out, 413 too large) is
  the caller's problem for that one invocation: reported to the caller of `post_*`, never fatal.
- Connection failures are retried a bounded number of times, then `RuntimeAPIUnreachable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from lambda_ack import logs
from lambda_ack.connection import Connection, ConnectionFailed

API_VERSION = "2018-06-01"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
STREAMING_HEADER = "Lambda-Runtime-Function-Response-Mode"
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"

# Retry connection failures this many times, doubling the pause from RETRY_FIRST_PAUSE seconds:
# about 3 s in all, enough for a Runtime API that restarts, short enough to fail visibly.
RETRY_ATTEMPTS = 5
RETRY_FIRST_PAUSE = 0.1

log = logs.runtime_log


class RuntimeAPIFatal(Exception):
    """The Runtime API answered in a way that obliges the runtime to exit."""


class RuntimeAPIUnreachable(RuntimeAPIFatal):
    """The Runtime API could not be reached after every retry."""


class Invocation:
    """One event, as `/next` delivered it, with the headers that describe it."""

    __slots__ = (
        "request_id",
        "body",
        "content_type",
        "deadline_ms",
        "function_arn",
        "trace_id",
        "client_context",
        "cognito_identity",
        "tenant_id",
        "invocation_id",
    )

    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.body = body
        self.content_type = headers.get("content-type", "application/json")
        self.deadline_ms = _parse_deadline(headers.get("lambda-runtime-deadline-ms"))
        self.function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.trace_id = headers.get("lambda-runtime-trace-id")
        self.client_context = headers.get("lambda-runtime-client-context")
        self.cognito_identity = headers.get("lambda-runtime-cognito-identity")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.invocation_id = headers.get("lambda-runtime-invocation-id")


# Lambda's default function timeout; used only when the deadline header is missing or malformed.
FALLBACK_TIMEOUT_MS = 3000


# Milliseconds since 1970 have 13 digits until the year 2286; more is not a deadline.
_DEADLINE_DIGITS = 16


def _parse_deadline(value: str | None) -> int:
    if value is not None and value.isascii() and value.isdigit() and len(value) <= _DEADLINE_DIGITS:
        return int(value)
    log.warning(
        "Lambda-Runtime-Deadline-Ms is %s; assuming a %d ms deadline",
        "missing" if value is None else f"malformed ({value[:40]!r})",
        FALLBACK_TIMEOUT_MS,
    )
    return int(time.time() * 1000) + FALLBACK_TIMEOUT_MS


class RuntimeAPI:
    """Talks to `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01` over one kept-alive connection."""

    def __init__(self, address: str) -> None:
        host, sep, port = address.rpartition(":")
        if not sep or not (port.isascii() and port.isdigit()):
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
        self.address = address
        self.host = host.strip("[]")
        self.port = int(port)
        self._conn = Connection(self.host, self.port)
        self._base = f"/{API_VERSION}/runtime"

    def next_invocation(self) -> Invocation:
        """Block until Lambda hands over the next event; calling it ends the previous one."""
        attempt = 0
        while True:
            response = self._call("GET", self._base + "/invocation/next")
            if response.status == 200:
                invocation = Invocation(response.headers, response.body)
                if invocation.request_id:
                    return invocation
                problem = "an event without Lambda-Runtime-Aws-Request-Id"
            elif response.status >= 500:
                raise RuntimeAPIFatal(f"/next answered {response.status}: {_snippet(response)}")
            else:
                problem = f"HTTP {response.status} from /next: {_snippet(response)}"
            # An answer that cannot be served is retried like a connection failure: bounded, with
            # pauses, so a broken peer ends the process instead of spinning the CPU.
            attempt += 1
            if attempt >= RETRY_ATTEMPTS:
                raise RuntimeAPIFatal(f"giving up after {attempt} attempts: {problem}")
            log.error("Runtime API sent %s; retrying", problem)
            time.sleep(RETRY_FIRST_PAUSE * 2 ** (attempt - 1))

    def post_response(
        self, invocation: Invocation, body: bytes, content_type: str = "application/json"
    ) -> int:
        """Post the handler's result; returns the HTTP status (202 accepted)."""
        headers = {"Content-Type": content_type}
        return self._post_for(invocation, "/response", body, headers)

    def post_error(
        self, invocation: Invocation, payload: bytes, error_type: str, xray_cause: str = ""
    ) -> int:
        """Post a failed invocation; returns the HTTP status (202 accepted)."""
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: error_type}
        if xray_cause:
            headers[XRAY_CAUSE_HEADER] = xray_cause
        return self._post_for(invocation, "/error", payload, headers)

    def post_stream(
        self,
        invocation: Invocation,
        content_type: str,
        chunks: Iterable[bytes],
        trailers: Callable[[], dict[str, str]],
    ) -> int:
        """Stream the response, chunk by chunk (`lambda_ack.answer.stream_post`); returns the HTTP
        status. A broken connection raises `ConnectionFailed`: a stream cannot be sent again."""
        headers = {
            "Content-Type": content_type,
            STREAMING_HEADER: "streaming",
            "Trailer": f"{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}",
        }
        return self._post_for(invocation, "/response", b"", headers, (chunks, trailers))

    def restore_next(self) -> None:
        """SnapStart: ready for the snapshot; returns in an environment restored from it
        (`lambda_ack.environment.snapstart`). Any answer but 200 is fatal."""
        response = self._call("GET", self._base + "/restore/next")
        if response.status != 200:
            raise RuntimeAPIFatal(f"/restore/next answered {response.status}: {_snippet(response)}")

    def post_restore_error(self, payload: bytes, error_type: str) -> int:
        return self._post_report("/restore/error", payload, error_type)

    def reconnect(self) -> None:
        """The next call opens a new connection (after a restore, the old socket is gone)."""
        self._conn.close()

    def post_init_error(self, payload: bytes, error_type: str) -> int:
        return self._post_report("/init/error", payload, error_type)

    def _post_report(self, suffix: str, payload: bytes, error_type: str) -> int:
        """An error of the environment's (init, restore), not of an invocation."""
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: error_type}
        return self._call("POST", self._base + suffix, payload, headers).status

    def _post_for(
        self,
        invocation: Invocation,
        suffix: str,
        body: bytes,
        headers: dict[str, str],
        streamed: tuple[Iterable[bytes], Callable[[], dict[str, str]]] | None = None,
    ) -> int:
        if invocation.invocation_id is not None:
            headers[INVOCATION_ID_HEADER] = invocation.invocation_id
        path = f"{self._base}/invocation/{invocation.request_id}{suffix}"
        if streamed is None:
            response = self._call("POST", path, body, headers)
        else:
            response = self._conn.stream("POST", path, headers, *streamed)
        if response.status >= 500:
            raise RuntimeAPIFatal(f"{suffix} answered {response.status}: {_snippet(response)}")
        if response.status != 202:
            log.warning(
                "Runtime API refused %s for %s: HTTP %d %s",
                suffix,
                invocation.request_id,
                response.status,
                _snippet(response),
            )
        return response.status

    def _call(self, method: str, path: str, body: bytes = b"", headers=None):
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return self._conn.request(method, path, body, headers)
            except ConnectionFailed as e:
                if attempt == RETRY_ATTEMPTS:
                    raise RuntimeAPIUnreachable(
                        f"Runtime API at {self.address} unreachable after {attempt} attempts: {e}"
                    ) from e
                # The first failure is usually a keep-alive connection the peer closed while idle:
                # retry at once; pause only from the second failure on.
                if attempt > 1:
                    log.warning("Runtime API call %s %s failed (%s); retrying", method, path, e)
                    time.sleep(RETRY_FIRST_PAUSE * 2 ** (attempt - 2))
        raise AssertionError("unreachable")


def _snippet(response) -> str:
    return response.body[:200].decode("utf-8", "replace")
