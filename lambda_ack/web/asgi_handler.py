"""`runtime.web.asgi(app)`: an ASGI 3 app (FastAPI, Starlette, Django's ASGI) as the handler, its
answer posted the moment the app has sent the last byte of its body.

What the app does after that (Starlette's and FastAPI's `BackgroundTasks`, code after the
response in a plain ASGI app) is the rest of the handler after an `ack()`: deferred work of the
same invocation, under the runtime's rules (the deadline watchdog, `defer`, `retries` and
`durable` available in it, counted in the invocation's line), and an exception there is logged
with its traceback without changing the answer. Mangum runs the same work before the handler
returns, so the caller waits for it.

With streaming (`streaming=True`, or `LAMBDA_RUNTIME_RESPONSE_STREAMING=1`: a Function URL's
RESPONSE_STREAM mode is not visible in the event), a payload 2.0 request's answer goes out as a
`runtime.Stream`, each body message as the app sends it, status and headers in the prelude.
Otherwise the body is collected and answered whole (6 MB at most, as any answer).

Outside this runtime's handler (a test calling the handler, AWS's managed runtime) nothing can
be answered early: the app runs to its end, background work included, then the answer is
returned, as Mangum does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from lambda_ack import logs
from lambda_ack.answer import acknowledgement
from lambda_ack.answer.stream import Stream
from lambda_ack.deferred import aio
from lambda_ack.web import gateway
from lambda_ack.web.lifespan import Lifespan

STREAMING_VARIABLE = "LAMBDA_RUNTIME_RESPONSE_STREAMING"
log = logs.runtime_log
_SERVER_ERROR = [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error"


class ASGIHandler:
    """The Lambda handler `asgi(app)` returns; the options are Mangum's, plus `streaming`."""

    def __init__(
        self,
        app: Callable[..., object],
        *,
        lifespan: str = "auto",
        streaming: bool | None = None,
        api_gateway_base_path: str = "/",
        text_mime_types: list[str] | None = None,
    ) -> None:
        self.app = app
        if streaming is None:
            streaming = os.environ.get(STREAMING_VARIABLE, "").lower() in ("1", "true", "on")
        self.streaming = streaming
        self.base_path = api_gateway_base_path or "/"
        self.text_types = tuple(text_mime_types) if text_mime_types else gateway.TEXT_TYPES
        self.lifespan = Lifespan(app, lifespan)
        self.lifespan.start()

    def __call__(self, event: dict, context: object) -> object:
        incoming = gateway.Incoming(event, self.base_path)
        early = acknowledgement.active() is not None
        streaming = early and self.streaming and incoming.shape == "2.0"
        cycle = _Cycle(self._scope(incoming, context), incoming.body, streaming)
        aio.run(cycle.start(self.app))
        if not early:
            aio.run(cycle.settle())
        if streaming:
            headers, cookies = _joined(cycle.headers)
            answer: object = Stream(cycle.chunks(), cycle.status, headers, cookies)
        else:
            answer = gateway.answer(
                incoming, cycle.status, cycle.headers, cycle.body, self.text_types
            )
        if not early:
            cycle.report()
            return answer
        if cycle.succeeded:  # nothing of the app is left to run
            return answer
        try:
            acknowledgement.ack(answer)
        except BaseException:  # nobody has the answer: the app's work after it is not owed
            cycle.cancel()
            raise
        aio.run(cycle.finish())  # the rest of the app, or what it raised after its answer
        return None

    def _scope(self, incoming: gateway.Incoming, context: object) -> dict:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "http_version": "1.1",
            "method": incoming.method,
            "scheme": incoming.scheme,
            "path": incoming.path,
            "raw_path": None,
            "root_path": "",
            "query_string": incoming.query.encode("latin-1", "replace"),
            "headers": [
                [name.encode("latin-1", "replace"), value.encode("latin-1", "replace")]
                for name, value in incoming.headers
            ],
            "server": incoming.server,
            "client": (incoming.source_ip, 0),
            "state": dict(self.lifespan.state),
            "aws.event": incoming.event,
            "aws.context": context,
        }


def _joined(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """A Function URL prelude's headers (repeats joined by commas) and its cookies."""
    joined: dict[str, str] = {}
    cookies = []
    for name, value in headers:
        name = name.lower()
        if name == "set-cookie":
            cookies.append(value)
        else:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined, cookies


class _Cycle:
    """One request through the app: its messages, its answer once ready, the rest after."""

    def __init__(self, scope: dict, body: bytes, streaming: bool) -> None:
        self.scope = scope
        self._request: bytes | None = body
        self.streaming = streaming
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self._parts: list[bytes] = []
        self._state = "request"  # then "response" (started), then "complete"
        self._abandoned = False

    @property
    def body(self) -> bytes:
        return b"".join(self._parts)

    @property
    def succeeded(self) -> bool:
        """The app has ended without raising."""
        task = self._task
        return task.done() and not task.cancelled() and task.exception() is None

    async def start(self, app: Callable[..., object]) -> None:
        """Run the app until its answer is ready: the whole body, or (streaming) its first
        message with a body, or its end."""
        import asyncio

        loop = asyncio.get_running_loop()
        # Futures, not Events: set once, awaited by whoever needs them, cheap to make.
        self._ready = loop.create_future()  # the answer can go: set by `_send`, or `_run` at last
        self._complete = loop.create_future()  # the body is complete (or abandoned)
        if self.streaming:
            self._chunks: asyncio.Queue = asyncio.Queue(maxsize=1)
        self._task = loop.create_task(self._run(app))
        await self._ready

    def cancel(self) -> None:
        self._task.cancel()

    async def settle(self) -> None:
        """Until the app has ended, whatever it raised."""
        import asyncio

        await asyncio.wait({self._task})

    def report(self) -> None:
        """Outside this runtime: an app that raised after its answer was complete (Starlette's
        error middleware sends its 500 page, then raises) is logged; the answer stands."""
        if not self._task.cancelled() and (error := self._task.exception()) is not None:
            log.error("the ASGI app raised after its answer was complete", exc_info=error)

    async def finish(self) -> None:
        """The rest of the app, to its end; what it raises after the answer is raised here."""
        await self._task

    def chunks(self) -> Iterator[bytes]:
        """The streamed body, each chunk as the app sends it (the app runs between chunks)."""
        try:
            while (chunk := aio.run(self._chunks.get())) is not None:
                if isinstance(chunk, BaseException):
                    raise chunk
                yield chunk
        finally:
            if self._state != "complete":  # the stream was cut off: let the app finish
                self._abandoned = True
                _set(self._complete)
                while not self._chunks.empty():
                    self._chunks.get_nowait()

    async def _run(self, app: Callable[..., object]) -> None:
        try:
            await app(self.scope, self._receive, self._send)
            if self._state == "request":
                raise RuntimeError("the ASGI app returned without sending a response")
        except BaseException as e:
            await self._failed(e)
        finally:
            _set(self._ready)

    async def _failed(self, e: BaseException) -> None:
        if self._state == "complete":
            raise e  # after the answer: the runtime logs it, the answer stands
        log.error("the ASGI app failed before its answer was complete", exc_info=e)
        begun = self.streaming and self._ready.done()
        self._state = "complete"
        _set(self._complete)
        if begun:
            await self._chunks.put(e)  # the stream has begun: it ends with the error
            return
        self.status, (self.headers, body) = 500, _SERVER_ERROR
        self._parts = [body]
        _set(self._ready)
        if self.streaming:
            await self._chunks.put(body)
            await self._chunks.put(None)

    async def _receive(self) -> dict:
        if self._request is not None:
            body, self._request = self._request, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._complete
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "http.response.start" and self._state == "request":
            self.status = int(message["status"])
            self.headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers") or ()
            ]
            self._state = "response"
        elif kind == "http.response.body" and self._state == "response":
            body = bytes(message.get("body") or b"")
            more = bool(message.get("more_body", False))
            if not more:
                self._state = "complete"
            if self.streaming:
                if body and not self._abandoned:
                    _set(self._ready)
                    await self._chunks.put(body)
                if not more and not self._abandoned:
                    await self._chunks.put(None)
            else:
                self._parts.append(body)
            if not more:
                _set(self._complete)
                _set(self._ready)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} (the response is {self._state})")


def _set(future: object) -> None:
    if not future.done():  # type: ignore[attr-defined]
        future.set_result(None)  # type: ignore[attr-defined]
