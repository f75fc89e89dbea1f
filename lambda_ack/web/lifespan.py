"""An ASGI app's lifespan, once per environment: startup when the handler is made, shutdown when
the environment ends.

`asgi(app)` runs at the handler module's import, which is the function's init: startup (opening
a database pool, loading a model) happens there, before the first event, so it is not added to
the first request's time, and Lambda gives the init phase its own 10 s on a cold start. Mangum
runs startup and shutdown around every invocation instead, so an app's pools live one request;
here they live as long as the environment. Shutdown runs as an `on_shutdown` hook when Lambda
sends SIGTERM, within the runtime's grace period (it gets `SHUTDOWN_S` at most).

`mode` is Mangum's: "auto" runs the protocol and carries on without it when the app does not
support it (it raises before answering the startup message); "on" makes that an init error;
"off" never runs it. A `lifespan.startup.failed` answer, or an app that raises after it began
the protocol, fails the init in "auto" and "on" alike.
"""

from __future__ import annotations

from lambda_ack import logs

log = logs.runtime_log
MODES = ("auto", "on", "off")
# What shutdown may take of the SIGTERM grace period (500 ms, shared with the other hooks).
SHUTDOWN_S = 0.3


class LifespanFailure(RuntimeError):
    """The app's lifespan startup failed: the function's init fails with this."""


class Lifespan:
    """The lifespan protocol with one app; `state` is the lifespan state each request's scope
    gets a copy of (ASGI's `scope["state"]`)."""

    def __init__(self, app: object, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"lifespan must be one of {', '.join(MODES)}, not {mode!r}")
        self.app = app
        self.mode = mode
        self.state: dict = {}
        self.supported = False
        self._task = None

    def start(self) -> None:
        """Startup, now (the init); registers shutdown for SIGTERM."""
        if self.mode == "off":
            return
        from lambda_ack.deferred import aio
        from lambda_ack.environment.shutdown import on_shutdown

        aio.run(self._startup())
        if self.supported:
            on_shutdown(self.stop)

    def stop(self) -> None:
        """Shutdown, within `SHUTDOWN_S`: the SIGTERM hook."""
        import asyncio

        from lambda_ack.deferred import aio

        if self._task is None or self._task.done():
            return
        if self._task.get_loop().is_running():  # SIGTERM arrived in the middle of a request
            log.warning("ASGI lifespan shutdown not run: SIGTERM came while the app ran")
            return
        try:
            aio.run(asyncio.wait_for(self._shutdown(), SHUTDOWN_S))
        except TimeoutError:
            log.warning("ASGI lifespan shutdown still running after %.0f ms", SHUTDOWN_S * 1000)

    async def _startup(self) -> None:
        import asyncio

        from lambda_ack.deferred import aio

        self._inbox: asyncio.Queue = asyncio.Queue()
        self._answers: asyncio.Queue = asyncio.Queue()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = asyncio.ensure_future(self._run())
        aio.resident(self._task)
        answer = await self._answers.get()
        if answer["type"] == "lifespan.startup.complete":
            self.supported = True
            return
        if answer["type"] == "unsupported" and self.mode == "auto":
            log.info("the ASGI app does not support lifespan (%s): going on without", answer["why"])
            return
        raise LifespanFailure(f"ASGI lifespan startup failed: {answer.get('message') or answer}")

    async def _shutdown(self) -> None:
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        answer = await self._answers.get()
        if answer["type"] != "lifespan.shutdown.complete":
            log.error("ASGI lifespan shutdown failed: %s", answer.get("message") or answer)

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._inbox.get, self._answers.put)
        except BaseException as e:
            if self.supported:
                log.exception("the ASGI app's lifespan raised")
            else:
                why = f"{type(e).__name__}: {e}"
                self._answers.put_nowait({"type": "unsupported", "why": why, "message": why})
