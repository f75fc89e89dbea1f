"""`runtime.web.wsgi(app)`: a WSGI app (Flask, Django, Bottle) as the handler, its answer posted
once the app's body is complete.

The response iterable's `close()` (where Flask runs its `call_on_close` callbacks and Werkzeug
its response's `close` hooks) is deferred: it runs after the answer, as the invocation's first
deferred callback, its failure logged without changing the answer.
The environ is the one apig-wsgi builds (the event, its request context and the Lambda context
under `apig_wsgi.*`, and under serverless-wsgi's `serverless.*` names too), from the same
reading of the event as `runtime.web.asgi` (`lambda_ack.web.gateway`), and so are the answers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from io import BytesIO

from lambda_ack.answer import acknowledgement
from lambda_ack.deferred import defer
from lambda_ack.web import gateway


class WSGIHandler:
    """The Lambda handler `wsgi(app)` returns."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        api_gateway_base_path: str = "/",
        text_mime_types: list[str] | None = None,
    ) -> None:
        self.app = app
        self.base_path = api_gateway_base_path or "/"
        self.text_types = tuple(text_mime_types) if text_mime_types else gateway.TEXT_TYPES

    def __call__(self, event: dict, context: object) -> object:
        incoming = gateway.Incoming(event, self.base_path)
        started: list = []
        parts: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: object = None):
            if started and not exc_info:
                raise AssertionError("start_response called twice without exc_info")
            started[:] = [int(status.split(None, 1)[0]), [(str(k), str(v)) for k, v in headers]]
            return parts.append  # the legacy write() callable

        result = self.app(_environ(incoming, context), start_response)
        try:
            for chunk in result:
                parts.append(bytes(chunk))
        except BaseException:
            _close(result)
            raise
        if not started:
            _close(result)
            raise RuntimeError("the WSGI app returned without calling start_response")
        status, headers = started
        answer = gateway.answer(incoming, status, headers, b"".join(parts), self.text_types)
        if not hasattr(result, "close") or acknowledgement.active() is None:
            _close(result)
        else:
            defer(result.close)  # Flask's call_on_close, after the answer
        return answer


def _close(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _environ(incoming: gateway.Incoming, context: object) -> dict:
    context_data = incoming.event.get("requestContext") or {}
    protocol = (context_data.get("http") or {}).get("protocol") or "HTTP/1.1"
    forwarded = incoming.header("x-forwarded-for")
    if incoming.shape == "2.0" or not forwarded:
        remote = incoming.source_ip or "127.0.0.1"
    else:
        remote = forwarded.split(",")[0].strip()
    environ: dict = {
        "REQUEST_METHOD": incoming.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the path's bytes, each as one latin-1 character.
        "PATH_INFO": incoming.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": incoming.query,
        "CONTENT_LENGTH": str(len(incoming.body)),
        "SERVER_NAME": incoming.header("host") or "",
        "SERVER_PORT": incoming.header("x-forwarded-port") or "",
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": remote,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": incoming.scheme,
        "wsgi.input": BytesIO(incoming.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "apig_wsgi.full_event": incoming.event,
        "apig_wsgi.request_context": context_data,
        "apig_wsgi.context": context,
        "serverless.event": incoming.event,
        "serverless.context": context,
    }
    joined: dict[str, list[str]] = {}
    for name, value in incoming.headers:
        joined.setdefault(name, []).append(value)
    for name, values in joined.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = values[-1]
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = ",".join(values)
    return environ
