"""SnapStart's restore protocol, against a scripted Runtime API: RIE does not implement
`/restore/next` or `/restore/error`, and no emulator can take a snapshot.

The scripted API answers `/restore/next` only when the test says (`restore()`), as Lambda
answers it in an environment restored from the snapshot taken while it waited. A restore comes
hours after the snapshot: one test waits a few seconds of real time in `/restore/next`, which
shows any clock reading taken before the snapshot (the guard's "caller waiting since"); another
moves the process's clocks an hour forward at the snapshot (the wall clock with libfaketime, the
monotonic clocks with a time namespace). Two restores of one snapshot are two processes going on
from one state: the function's last before-snapshot hook forks, so both reach `/restore/next`
with everything the snapshot would hold.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from fake_api import HOLD, PREFIX

pytest_plugins = ["fake_api"]

SNAP_START = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
HANDLER = "snapstart_hooks.handler"


def restore_requested(records) -> list:
    return [r for r in records if r.path == f"{PREFIX}/restore/next"]


def test_hooks_run_around_restore_next_and_the_restored_environment_serves(runtime):
    api, proc = runtime(HANDLER, **SNAP_START)
    api.wait_for(restore_requested)
    assert api.paths() == [
        "/mark/before-snapshot-registered-second",  # the reverse order of registration
        "/mark/before-snapshot-registered-first",
        "/restore/next",
    ]
    gap_s = 3.0
    time.sleep(gap_s)  # not a wait for anything: the time between snapshot and restore
    api.restore(drop_connection=True)
    request_id = api.push({}, timeout_ms=30000)
    answer = api.outcome(request_id)

    assert answer.path.endswith("/response"), proc.output
    assert api.paths()[3:7] == [  # (then the next /next, perhaps already)
        "/mark/after-restore-hello-db",  # with its arguments, in the order registered
        "/mark/after-restore-registered-second",
        "/invocation/next",
        f"/invocation/{request_id}/response",
    ]
    result = answer.json()
    assert 29_000 < result["remaining_ms"] <= 30_000  # the deadline, read after the restore
    # The guard counts a cold start's wait from the restore, not from the process's start.
    assert result["caller_waited_ms"] < gap_s * 1000 / 2, result
    assert "retrying" not in proc.output and "Traceback" not in proc.output, proc.output


def faketime_library() -> Path:
    """The libfaketime build that the `libfaketime` wheel carries (a pinned dev dependency),
    found without importing the package (which would import `pytz` and `dateutil`)."""
    spec = importlib.util.find_spec("libfaketime")
    assert spec is not None and spec.submodule_search_locations, "libfaketime is not installed"
    folder = Path(spec.submodule_search_locations[0])
    return folder / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"


@pytest.mark.skipif(
    not os.path.exists("/proc/self/ns/time") or os.geteuid() != 0,
    reason="moving the monotonic clock needs time namespaces (Linux 5.6+) and CAP_SYS_ADMIN",
)
def test_a_restore_an_hour_after_the_snapshot_serves_with_the_right_deadline_and_watchdog(
    runtime, tmp_path
):
    """Both clocks move forward an hour at the restore, as in an environment restored an hour
    after its snapshot. The wall clock: the runtime's process reads one an hour behind until the
    restore, then the real one (libfaketime, LD_PRELOAD, its offset read from a file the test
    rewrites at the restore). The monotonic and boot-time clocks: the last before-snapshot hook
    puts the process, single-threaded then, in a new time namespace an hour ahead, so the
    kernel's timed waits (the watchdog's) move with them, as after a real restore. The restore
    also drops the connection."""
    offset = tmp_path / "faketime"
    offset.write_text("-3600\n")
    api, proc = runtime(
        HANDLER,
        LD_PRELOAD=str(faketime_library()),
        FAKETIME_TIMESTAMP_FILE=str(offset),
        FAKETIME_NO_CACHE="1",  # read the file at every clock reading
        FAKETIME_DONT_FAKE_MONOTONIC="1",  # the time namespace moves that one
        TIME_JUMP_S="3600",
        LAMBDA_RUNTIME_SHUTDOWN_EXTENSION="0",  # no thread of its own: the process can move
        **SNAP_START,
    )
    api.wait_for(restore_requested)
    offset.write_text("+0\n")
    api.restore(drop_connection=True)
    api.script("mark/stuck", (HOLD, b""))  # the deferred callback waits here until released
    timeout_ms = 3000
    pushed = time.monotonic()
    request_id = api.push({"stuck": True}, timeout_ms=timeout_ms)
    answer = api.outcome(request_id)
    assert answer.path.endswith("/response"), proc.output
    result = answer.json()
    assert result["monotonic_since_import_s"] >= 3600, result  # the jump happened
    assert timeout_ms - 1000 < result["remaining_ms"] <= timeout_ms
    # The guard counts a cold start's wait from the restore, not from an hour before it.
    assert result["caller_waited_ms"] < 2000, result

    # The watchdog warns 200 ms before the deadline, by the clock the deadline was set by.
    warning = proc.wait_output("ms before the deadline")
    warned_after_s = time.monotonic() - pushed
    api.release()
    api.wait_for(lambda rs: [r for r in rs if r.path.endswith("/invocation/next")][1:])
    left_ms = int(re.search(r"still running (\d+) ms before the deadline", warning)[1])
    assert 0 < left_ms <= 200, warning
    assert warned_after_s >= (timeout_ms - 200 - 100) / 1000, warned_after_s
    assert "deferred callback" in warning and "mark" in warning, warning
    assert "retrying" not in proc.output and "Traceback" not in proc.output, proc.output


def test_what_the_first_invocation_would_load_is_loaded_before_the_snapshot(runtime):
    """Its cost then belongs to the snapshot, not to the first answer after a restore: the
    watchdog's timer thread is running, the IDNA codec (loaded by a process's first connection
    to a host given by name) is there, and init's objects are out of the garbage collector's
    way when the after-restore hooks run."""
    api, _ = runtime("snapstart_prepared.handler", **SNAP_START)
    api.wait_for(restore_requested)
    api.restore()
    seen = api.outcome(api.push({})).json()
    assert "deadline-watchdog" in seen["threads"], seen
    assert seen["idna_loaded"], seen
    # Init's objects are set aside: the first request's collections do not walk them.
    assert seen["objects_set_aside"] > 1000, seen["objects_set_aside"]


def test_after_a_restore_the_runtime_api_is_called_on_a_new_connection(runtime):
    """The socket from before the snapshot is not used again, even when it looks alive."""
    api, _ = runtime(HANDLER, **SNAP_START)
    api.wait_for(restore_requested)
    api.restore()  # the connection is kept open by this side
    api.outcome(api.push({}))
    restore, next_call = (
        next(r for r in api.records if r.path.endswith(path))
        for path in ("/restore/next", "/invocation/next")
    )
    assert next_call.peer_port != restore.peer_port


def test_the_shutdown_extension_asks_for_its_next_event_again_after_a_restore(runtime):
    """Its `event/next` call was waiting when the snapshot was taken, and its connection is gone
    after the restore: it asks again, on a new one, or Lambda would take it for dead."""
    api, _ = runtime(HANDLER, extensions=True, **SNAP_START)

    def waits(count: int):
        event_next = "/2020-01-01/extension/event/next"
        return lambda rs: len([r for r in rs if r.path == event_next]) == count

    api.wait_for(restore_requested)
    api.wait_for(waits(1))
    api.restore(drop_connection=True)
    api.wait_for(waits(2))
    assert api.outcome(api.push({})).path.endswith("/response")


def test_a_failing_before_snapshot_hook_is_an_init_error_and_exit_64(runtime):
    api, proc = runtime(HANDLER, FAIL_HOOK="before-snapshot", **SNAP_START)
    assert proc.wait_exit() == 64
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith("/init/error")), 0))
    assert error.headers["lambda-runtime-function-error-type"] == "Runtime.BeforeSnapshotError"
    assert error.json()["errorType"] == "ConnectionError"
    assert "before-snapshot hook could not reach" in error.json()["errorMessage"]
    assert "/restore/next" not in api.paths()


def test_a_failing_after_restore_hook_is_a_restore_error_and_exit_65(runtime):
    api, proc = runtime(HANDLER, FAIL_HOOK="after-restore", **SNAP_START)
    api.wait_for(restore_requested)
    api.restore()
    assert proc.wait_exit() == 65
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith("/restore/error")), 0))
    assert error.headers["lambda-runtime-function-error-type"] == "Runtime.AfterRestoreError"
    assert "after-restore hook could not reach" in error.json()["errorMessage"]
    assert "/invocation/next" not in api.paths()
    assert "ConnectionError" in proc.output  # logged as the managed runtime logs it


def test_without_snapstart_no_hook_runs_and_restore_next_is_never_called(runtime):
    api, _ = runtime(HANDLER)
    answer = api.outcome(api.push({}))
    assert answer.path.endswith("/response")
    assert not any("restore" in path or "snapshot" in path for path in api.paths())


def test_two_restores_of_one_snapshot_draw_different_random_values_and_start_guards_empty(
    runtime,
):
    api, proc = runtime(HANDLER, FORK_AT_SNAPSHOT="1", **SNAP_START)
    api.wait_for(lambda rs: len(restore_requested(rs)) == 2)
    # Each process's answer is held until both have one: a process that answered cannot take
    # the second event, whichever of the two the server would hand it to.
    api.script("response", (HOLD, b""), (HOLD, b""))
    api.restore()
    api.wait_for(lambda rs: len([r for r in rs if r.path.endswith("/invocation/next")]) == 2)
    answers = [api.outcome(api.push({})) for _ in range(2)]  # recorded, not yet answered
    api.release()
    results = [json.loads(answer.body) for answer in answers]
    try:
        assert len({result["pid"] for result in results}) == 2, proc.output
        assert results[0]["random"] != results[1]["random"]
        # The warm-up's request id, claimed before the snapshot, is not remembered by either.
        assert [result["warm_up_seen"] for result in results] == [False, False]
    finally:
        for result in results:
            if result["pid"] != proc.proc.pid:  # the fork: this test's to stop
                os.kill(result["pid"], signal.SIGKILL)
