"""Process start: find the user's code, set up logging, load the handler, then serve.

Init failures are posted to `/init/error` in the managed runtime's shape and end the process
with status 1, so Lambda reports them on the first invoke instead of timing out.
"""

from __future__ import annotations

import os
import sys

# The managed runtime's words before an init failure, which log queries and alarms look for.
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function "
    "change, or can be applied automatically. To determine if the runtime has been updated, "
    "check the runtime version in the INIT_START log entry. If this error correlates with a "
    "change in the runtime version, you may be able to mitigate this error by temporarily "
    "rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


def main() -> None:
    env = os.environ
    address = env.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.exit("bootstrap: AWS_LAMBDA_RUNTIME_API is not set; Lambda (or an emulator) sets it")
    from lambda_ack.api import RuntimeAPI, RuntimeAPIFatal

    api = RuntimeAPI(address)
    # Managed Instances: from here on this is one of N worker processes
    # (`lambda_ack.environment.workers`).
    worker = _fork_workers(api, env) if env.get("AWS_LAMBDA_MAX_CONCURRENCY") else None
    # First, so that the registration's round trip overlaps everything below.
    extension = None if worker is not None else _start_shutdown_extension(api, env)
    _put_task_root_first(env.get("LAMBDA_TASK_ROOT") or os.getcwd())

    from lambda_ack import logs

    log_format = env.get("AWS_LAMBDA_LOG_FORMAT")
    logs.setup("JSON" if worker is not None else log_format, env.get("AWS_LAMBDA_LOG_LEVEL"))
    if worker is not None and worker.index == 0 and (log_format or "").upper() != "JSON":
        logs.runtime_log.warning(
            "AWS_LAMBDA_LOG_FORMAT is %r; with AWS_LAMBDA_MAX_CONCURRENCY the logs are JSON, "
            "as Managed Instances require",
            log_format,
        )

    try:
        handler, margin_ms = _init(env.get("_HANDLER") or (sys.argv[1:] or [""])[-1])
    except Exception as e:
        import logging

        from lambda_ack import errors

        payload = errors.from_exception(e)
        logging.warning(UNHANDLED_EXCEPTION_WARNING)  # before the error, as the managed runtime
        logs.write_error(payload)
        try:
            from lambda_ack.loop import tracked

            # Still inside `except`: an error tracker's patch reads the exception from here.
            tracked(api).post_init_error(errors.to_json(payload), str(payload["errorType"]))
        except RuntimeAPIFatal as api_error:
            print(f"bootstrap: could not report the init error: {api_error}", file=sys.stderr)
        _exit(1)

    from lambda_ack.loop import serve

    if worker is not None:
        worker.initialised()
    if worker is not None or (extension is not None and extension.wait_registered()):
        from lambda_ack.environment import shutdown

        shutdown.install()
    if env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        _snapshot_and_restore(api)
    try:
        serve(api, handler, margin_ms)
    except RuntimeAPIFatal as e:
        logs.runtime_log.critical("exiting: %s", e)
        _exit(1)
    except SystemExit as e:  # from a handler or a callback; the caller has its answer
        _exit(e.code)
    except KeyboardInterrupt:
        _exit(130)


def _snapshot_and_restore(api) -> None:
    """SnapStart (`lambda_ack.environment.snapstart`): returns in a restored environment, or
    ends the process with awslambdaric's status once the failure is reported."""
    from lambda_ack.environment import snapstart

    try:
        snapstart.snapshot_and_restore(api)
    except snapstart.HookFailed as e:
        _exit(e.status)


def _exit(code: object) -> None:
    """End the process now, whatever threads the user's code left running.

    `sys.exit` would wait for every non-daemon thread, so a thread left behind by a handler would
    keep a runtime that must stop alive (Lambda then waits for the timeout). `atexit` handlers
    still run (error trackers flush from them), then the streams are flushed and the process
    ends with `os._exit`.
    """
    import atexit

    from lambda_ack import errors, logs

    status = errors.exit_status(code)
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)  # what sys.exit("message") prints
    atexit._run_exitfuncs()
    logs.flush_streams()
    os._exit(status)


def _fork_workers(api, env):
    """The worker this process became, or None when AWS_LAMBDA_MAX_CONCURRENCY is not a valid
    number (`_init` then reports it as the init error)."""
    from lambda_ack.environment import workers
    from lambda_ack.errors import Fault

    try:
        count = workers.slots(env)
    except Fault:
        return None
    register = None
    if env.get("LAMBDA_RUNTIME_SHUTDOWN_EXTENSION", "1") != "0":
        from lambda_ack.environment.extension import ShutdownExtension

        register = ShutdownExtension(api.host, api.port).register_now
    return workers.fork_workers(count, register)


def _start_shutdown_extension(api, env):
    """Register for SIGTERM unless LAMBDA_RUNTIME_SHUTDOWN_EXTENSION=0."""
    if env.get("LAMBDA_RUNTIME_SHUTDOWN_EXTENSION", "1") == "0":
        return None
    from lambda_ack.environment.extension import ShutdownExtension

    extension = ShutdownExtension(api.host, api.port)
    extension.start()
    return extension


def _init(handler_spec: str):
    from lambda_ack.deferred import DEFAULT_MARGIN_MS
    from lambda_ack.errors import Fault
    from lambda_ack.handler import load_handler

    margin = os.environ.get("LAMBDA_RUNTIME_DEFER_MARGIN_MS", str(DEFAULT_MARGIN_MS))
    if not (margin.isascii() and margin.isdigit()):
        raise Fault(
            "Runtime.InvalidConfiguration",
            f"LAMBDA_RUNTIME_DEFER_MARGIN_MS must be a whole number of milliseconds, "
            f"got {margin!r}",
        )
    if os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"):
        from lambda_ack.environment import workers

        workers.slots(os.environ)  # a value the workers could not start with is the init error
    handler = load_handler(handler_spec)
    if os.environ.get("LAMBDA_RUNTIME_HANDOFF_QUEUE_URL"):
        from lambda_ack.deferred import consumer, handoff

        handoff.key()  # a queue without its signing key is the init error
        handler = consumer.consuming(handler)  # the same function runs what it handed off
    return handler, int(margin)


def _put_task_root_first(task_root: str) -> None:
    """sys.path as the managed runtime has it: the function's code first, then layers, then
    the rest (the runtime's own folders, from PYTHONPATH or site-packages).

    The function's code comes before the runtime's own directories, so its module names win: a
    `runtime.py` of its own is what `import runtime` gives it. The working directory that Python
    itself put first (`python -m lambda_ack` without `-P`, as a container image may start it)
    goes: a local run may start elsewhere than LAMBDA_TASK_ROOT, and the user's code must win
    over whatever lies there. It stays when it is where this runtime was found: removing it
    would lose `runtime`, the names handlers import. An entry that PYTHONPATH named is never
    removed (with `-P`, which `bootstrap` passes, Python adds none of its own).
    """
    home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if (
        not sys.flags.safe_path
        and sys.path
        and sys.path[0] in ("", os.getcwd())
        and os.path.abspath(sys.path[0]) != home
    ):
        del sys.path[0]
    layers = [
        path
        for path in (
            f"/opt/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages",
            "/opt/python",
        )
        if os.path.isdir(path)
    ]
    sys.path[0:0] = [task_root, *layers]
