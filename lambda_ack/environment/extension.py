"""A no-op internal extension, registered only so that Lambda sends SIGTERM before shutdown.

Lambda delivers SIGTERM to the runtime only when at least one extension is registered. An
internal extension subscribed to no events costs one request at init and one idle connection.
Registration runs on a thread while the user's module is imported, so it adds nothing to the cold
start unless the import is faster than the round trip. Where there is no Extensions API (some
local emulators), the runtime simply goes on without SIGTERM.
"""

from __future__ import annotations

import threading

from lambda_ack import json_c, logs
from lambda_ack.connection import Connection, ConnectionFailed, Response

NAME = "lambda-ack-shutdown"
_BASE = "/2020-01-01/extension"

log = logs.runtime_log


class ShutdownExtension:
    """Started first thing at init, so its round trip overlaps the imports; what went wrong is
    logged by `wait_registered`, on the main thread, once logging is set up."""

    def __init__(self, host: str, port: int) -> None:
        self._conn = Connection(host, port)
        self._settled = threading.Event()
        self.registered = False
        self._problem = ""
        self._thread = threading.Thread(target=self._run, name="shutdown-extension", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_registered(self, timeout: float = 2.0) -> bool:
        """Lambda refuses registrations once the runtime has asked for its first event."""
        if not self._settled.wait(timeout):
            log.warning("extension registration did not answer in %.1f s; going on", timeout)
        elif self._problem:
            log.debug("%s; SIGTERM will not be delivered", self._problem)
        return self.registered

    def register_now(self):
        """Register on this thread; the function that then waits for events (to run on a
        thread of the caller's choosing), or None when there is nothing to register with. For
        the supervisor of several workers, which must fork with no thread running."""
        identifier = self._register()
        return None if identifier is None else lambda: self._wait_events(identifier)

    def _run(self) -> None:
        identifier = self._register()
        if identifier is not None:
            self._wait_events(identifier)

    def _register(self) -> str | None:
        identifier, problem = register(self._conn, NAME, [])
        if isinstance(problem, ConnectionFailed):
            self._problem = f"no Extensions API ({problem})"
        elif problem is not None:
            self._problem = f"Extensions API answered {problem.status}"
        self.registered = problem is None
        self._settled.set()
        return identifier if problem is None else None

    def _wait_events(self, identifier: str) -> None:
        # Asking for the next event tells Lambda the extension is ready; with no subscriptions
        # the call simply stays open until the environment ends. A call whose connection breaks
        # is made once more, on a new one: after a SnapStart restore the socket from before the
        # snapshot is gone, and an extension that stops asking would be taken for a dead one.
        broken = 0
        while broken < 2:  # twice in a row: the API is gone, the environment is ending
            response = next_event(self._conn, identifier)
            if response is None:
                broken += 1
            elif response.status != 200:
                return
            else:
                broken = 0


def register(conn: Connection, name: str, events: list[str]) -> tuple[str, object]:
    """Register the internal extension `name` for `events`: (its identifier, None), or ("", what
    went wrong: the `ConnectionFailed`, or the refusing `Response`, its connection closed)."""
    try:
        response = conn.request(
            "POST",
            f"{_BASE}/register",
            json_c.dumps({"events": events}).encode(),
            {"Lambda-Extension-Name": name, "Content-Type": "application/json"},
        )
    except ConnectionFailed as e:
        return "", e
    identifier = response.headers.get("lambda-extension-identifier", "")
    if response.status != 200 or not identifier:
        conn.close()
        return "", response
    return identifier, None


def next_event(conn: Connection, identifier: str) -> Response | None:
    """The extension's next event (an answer of any status), or None once the API is gone."""
    try:
        return conn.request(
            "GET", f"{_BASE}/event/next", headers={"Lambda-Extension-Identifier": identifier}
        )
    except ConnectionFailed:
        return None
