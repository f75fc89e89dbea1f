"""SnapStart: the environment is initialised once, snapshotted, and restored for each cold start.

Lambda starts such a function with `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`. Once the handler
is loaded, the runtime runs the before-snapshot hooks and calls `GET /runtime/restore/next`;
Lambda takes the snapshot while that call waits, and it returns in each environment restored
from it. The runtime then repairs what a snapshot breaks, runs the after-restore hooks, and
serves. The hooks are those registered with AWS's `snapshot_restore_py`
(`register_before_snapshot`, `register_after_restore`), exactly as on the managed runtime:
before-snapshot hooks in the reverse order of their registration, after-restore hooks in order.
Failures are reported as awslambdaric reports them: a before-snapshot hook (or the call itself)
to `/init/error` as `Runtime.BeforeSnapshotError`, exit status 64; an after-restore hook to
`/runtime/restore/error` as `Runtime.AfterRestoreError`, exit status 65.

What the runtime repairs after a restore, before the after-restore hooks (so they can use it):
- its connection to the Runtime API: closed, so the next call opens a new one;
- the moment a cold start's caller started waiting (the ack guard counts from it): the restore,
  not the process's start, hours earlier (`lambda_ack.environment.origin`);
- `random`'s state, reseeded from the OS, so two restored environments do not draw the same;
- the duplicate guards' memories, emptied; the shared table's connection and credentials, and
  the hand-off's SQS client, made again when next needed;
- the shutdown extension's wait for its next event, asked again on a new connection when the
  old one breaks (`lambda_ack.environment.extension`).
Each stateful module is asked only if it was imported (`restored()` in each).

What user code must do itself, as on the managed runtime: reconnect its own connections, make
again the ids and random values it drew at init, refresh what it cached with an expiry.
"""

from __future__ import annotations

import sys

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
# awslambdaric's exit statuses for the two failures.
BEFORE_SNAPSHOT_EXIT = 64
AFTER_RESTORE_EXIT = 65

# The runtime's modules that hold state a snapshot would share or break; each has `restored()`.
_STATEFUL = (
    "lambda_ack.environment.origin",
    "lambda_ack.dedupe.memory",
    "lambda_ack.dedupe.table",
    "lambda_ack.deferred.handoff",
)


class HookFailed(Exception):
    """A hook (or the restore call) failed; `error_type` and `status` say how to report it."""

    def __init__(self, error_type: str, status: int) -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.status = status


def snapshot_and_restore(api) -> None:
    """Before-snapshot hooks, `/restore/next`, the repairs, after-restore hooks; raises
    `HookFailed` from the failure (its cause) once it has been reported to the Runtime API."""
    try:
        _run_before_snapshot()
        _prepare_first_invocation()
        api.restore_next()
    except Exception as e:
        _report(e, api.post_init_error, BEFORE_SNAPSHOT_ERROR)
        raise HookFailed(BEFORE_SNAPSHOT_ERROR, BEFORE_SNAPSHOT_EXIT) from e
    _repair(api)
    try:
        _run_after_restore()
    except Exception as e:
        _report(e, api.post_restore_error, AFTER_RESTORE_ERROR)
        raise HookFailed(AFTER_RESTORE_ERROR, AFTER_RESTORE_EXIT) from e


def _run_before_snapshot() -> None:
    hooks = sys.modules.get("snapshot_restore_py")
    if hooks is None:  # nothing imported it: nobody registered a hook
        return
    registered = hooks.get_before_snapshot()
    while registered:  # the reverse order of registration, as awslambdaric runs them
        fn, args, kwargs = registered.pop()
        fn(*args, **kwargs)


def _prepare_first_invocation() -> None:
    """Do now, while it is part of the snapshot, what the first invocation after a restore would
    otherwise do before its acknowledgement or its first callback: look for the telemetry tools
    the function imported, load what running a callback takes, start the ack guard's and the
    watchdog's timer threads, load the IDNA codec, which Python loads at a process's first
    connection to a host given by name (Slack's API, any AWS endpoint; about 1 ms), and collect
    init's garbage."""
    import codecs
    import gc

    from lambda_ack import telemetry
    from lambda_ack.deferred import phase, timer

    telemetry.notice_tools()
    phase.machinery()  # its watchdog's timer among the threads started below
    timer.start_threads()
    codecs.lookup("idna")
    # Init's garbage collected and what survives it set aside for good, so that the first
    # request's collections do not walk every object the imports made (a Bolt app's took 1.2 to
    # 1.7 ms after the restore).
    gc.collect()
    gc.freeze()


def _run_after_restore() -> None:
    hooks = sys.modules.get("snapshot_restore_py")
    if hooks is None:
        return
    for fn, args, kwargs in hooks.get_after_restore():
        fn(*args, **kwargs)


def _repair(api) -> None:
    api.reconnect()
    random = sys.modules.get("random")
    if random is not None:
        random.seed()  # from os.urandom
    for name in _STATEFUL:
        module = sys.modules.get(name)
        if module is not None:
            module.restored()


def _report(failure: BaseException, post, error_type: str) -> None:
    from lambda_ack import errors, logs

    payload = errors.from_exception(failure)
    logs.write_error(payload)
    try:
        post(errors.to_json(payload), error_type)
    except Exception as e:  # the exit that follows still tells Lambda
        logs.runtime_log.error("could not report %s: %s", error_type, e)
