"""Web apps on the runtime: `asgi(app)` and `wsgi(app)` make a Lambda handler of an ASGI app
(FastAPI, Starlette) or a WSGI app (Flask), answered as soon as the app's answer is complete,
whatever it does after running as deferred work (`lambda_ack.web.asgi_handler`,
`lambda_ack.web.wsgi_handler`). Each adapter is imported when it is asked for, so a WSGI app
never imports asyncio, and `runtime.http_event` users pay for neither.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["asgi", "wsgi"]


def asgi(
    app: Callable[..., object],
    *,
    lifespan: str = "auto",
    streaming: bool | None = None,
    api_gateway_base_path: str = "/",
    text_mime_types: list[str] | None = None,
) -> Callable[[dict, object], object]:
    """`handler = asgi(app)`: the options are Mangum's, plus `streaming` (None: the
    `LAMBDA_RUNTIME_RESPONSE_STREAMING` variable decides). The app's lifespan startup runs now."""
    from lambda_ack.web.asgi_handler import ASGIHandler

    return ASGIHandler(
        app,
        lifespan=lifespan,
        streaming=streaming,
        api_gateway_base_path=api_gateway_base_path,
        text_mime_types=text_mime_types,
    )


def wsgi(
    app: Callable[..., object],
    *,
    api_gateway_base_path: str = "/",
    text_mime_types: list[str] | None = None,
) -> Callable[[dict, object], object]:
    """`handler = wsgi(app)`: Flask and any WSGI app; the response's `close()` (Flask's
    `call_on_close`) runs after the answer."""
    from lambda_ack.web.wsgi_handler import WSGIHandler

    return WSGIHandler(
        app, api_gateway_base_path=api_gateway_base_path, text_mime_types=text_mime_types
    )
