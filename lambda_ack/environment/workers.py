"""Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` = N invocations at once, one per worker
process, as AWS's Python runtime serves them.

Why processes, not threads or an event loop: each worker is the single runtime unchanged, one
invocation at a time, so every invocation keeps its identity without any sharing: its
`context`, the request id on its log lines, `_X_AMZN_TRACE_ID` in its own environment, and
`defer` from any thread or task it starts. With threads, all of that (the log lines' request id,
the trace id in `os.environ`, the deferred batch) would have to become per-thread state, user
code that sets module globals would race, and the GIL would serialise CPU-bound handlers. A
thread design was therefore not built. The processes were measured against awslambdaric's,
which are processes too (bench/README.md): less memory, the same throughput within noise.

A worker busy with deferred work holds only its own slot; the others go on taking events.
Nothing here decides how many invocations are in flight: each worker asks `/next` only when it
is free, so there are never more than N.

The process that `bootstrap` starts becomes the supervisor. Before anything else it registers the
shutdown extension (Lambda refuses one after the first `/next`), then forks the N workers with
no thread running. The first worker initialises alone (imports the function's module); the
others start their own imports once it has, so an init failure is reported, and logged, once,
and the supervisor then exits with the first worker's status. Each worker writes its logs to
Lambda's telemetry socket (`_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`, as awslambdaric does),
or to the inherited stdout without one, always in the JSON format, which Managed Instances
require. SIGTERM reaches every worker (the supervisor passes it on), and each winds down as a
single runtime does: it reports its running and waiting callbacks, hands off durable ones, runs
its own `on_shutdown` hooks once, and exits.
"""

from __future__ import annotations

import os
import sys

from lambda_ack.errors import Fault

MAX_CONCURRENCY = "AWS_LAMBDA_MAX_CONCURRENCY"
TELEMETRY_SOCKET = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
# The supervisor's wait for its workers after passing SIGTERM on: Lambda's grace period for a
# runtime with an internal extension, plus what an exit takes.
_GRACE_S = 0.6


def slots(env: os._Environ | dict[str, str]) -> int | None:
    """N from AWS_LAMBDA_MAX_CONCURRENCY, or None without it (one invocation at a time)."""
    value = env.get(MAX_CONCURRENCY)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise Fault(
            "Runtime.InvalidConfiguration",
            f"{MAX_CONCURRENCY} must be a whole number of at least 1, got {value[:40]!r}",
        )
    return int(value)


class Worker:
    """What a worker process knows of its place: its index, and how to tell the others that
    init went well (the first worker only)."""

    def __init__(self, index: int, go_write: int | None, others: int) -> None:
        self.index = index
        self._go_write = go_write  # the first worker's: one byte for each of the `others`
        self._others = others

    def initialised(self) -> None:
        """The first worker's module is imported: the others may start theirs."""
        if self._go_write is not None:
            os.write(self._go_write, b"g" * self._others)
            os.close(self._go_write)
            self._go_write = None


def fork_workers(count: int, register: object) -> Worker:
    """Become the supervisor of `count` workers; returns only in a worker process.

    `register()` registers the shutdown extension and returns the function that waits for its
    events (or None): it runs before the fork, and its waiting on a thread after it.
    """
    wait_events = register() if callable(register) else None
    _import_shared()
    go_read, go_write = os.pipe()
    children: list[int] = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            return _become_worker(index, count, go_read, go_write)
        children.append(pid)
    os.close(go_read)
    os.close(go_write)
    _supervise(children, wait_events)
    raise AssertionError("unreachable")


def _import_shared() -> None:
    """The runtime's own modules, imported once here so that the N workers share their pages
    (forked copy-on-write) instead of each importing its own copy: about 1 MiB of PSS per worker
    (bench/README.md). Only the runtime's code and the standard library: the function's
    module is imported in each worker, after the fork, so nothing of its state is shared."""
    import json  # noqa: F401
    import logging  # noqa: F401  (most functions import it; the handler is installed later)

    from lambda_ack import handler, loop  # noqa: F401


def _become_worker(index: int, count: int, go_read: int, go_write: int) -> Worker:
    if index == 0:
        os.close(go_read)
        worker = Worker(0, go_write, count - 1)
    else:
        os.close(go_write)
        got = os.read(go_read, 1)  # the first worker's module is imported, or it failed
        os.close(go_read)
        if not got:
            os._exit(0)  # the first worker failed its init and reported it: nothing to add
        worker = Worker(index, None, 0)
    socket_path = os.environ.get(TELEMETRY_SOCKET)
    if socket_path:
        _redirect_output(socket_path)
    return worker


def _redirect_output(socket_path: str) -> None:
    """stdout and stderr to Lambda's telemetry socket, one connection each."""
    import socket

    for fd in (1, 2):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            os.dup2(sock.fileno(), fd)


def _supervise(children: list[int], wait_events) -> None:
    """Wait for the workers, pass SIGTERM on to them, and exit once all have exited."""
    import _signal
    import threading
    import time

    if wait_events is not None:
        threading.Thread(target=wait_events, name="shutdown-extension", daemon=True).start()
    alive = set(children)
    first = children[0]
    first_status = 0

    def on_sigterm(signum: int, frame: object) -> None:
        import select

        exits = {}  # a pidfd becomes readable when its process exits
        for pid in list(alive):
            try:
                exits[os.pidfd_open(pid)] = pid
                os.kill(pid, _signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + _GRACE_S
        while exits and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(exits), [], [], left)
            for fd in ready:
                exits.pop(fd)
                os.close(fd)
        os._exit(0)

    _signal.signal(_signal.SIGTERM, on_sigterm)
    while alive:
        for pid, status in _reap(alive, block=True):
            code = os.waitstatus_to_exitcode(status)
            if pid == first:
                first_status = code
            if alive and code != 0:
                _say(
                    f"worker process {pid} exited with status {code}; "
                    f"{len(alive)} of {len(children)} go on serving"
                )
    os._exit(first_status if first_status > 0 else 0)


def _say(message: str) -> None:
    """A warning of the supervisor's own, in the JSON shape of the runtime's log lines."""
    import json

    from lambda_ack import logs

    print(json.dumps(logs.runtime_record("WARNING", message)), file=sys.stderr, flush=True)


def _reap(alive: set[int], block: bool) -> list[tuple[int, int]]:
    reaped = []
    while alive:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            alive.clear()
            break
        if pid == 0:
            break
        alive.discard(pid)
        reaped.append((pid, status))
        block = False
    return reaped
