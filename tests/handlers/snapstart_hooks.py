"""A function with SnapStart hooks registered through AWS's `snapshot_restore_py`, as on the
managed runtime; each hook marks the Runtime API's timeline when it runs. The environment says
which hook fails (`FAIL_HOOK`), and whether the last before-snapshot hook forks the process
(`FORK_AT_SNAPSHOT`: two environments from one state, as two restores of one snapshot), and
whether the process's monotonic clocks jump forward at the snapshot (`TIME_JUMP_S`). An event
with `"stuck": true` leaves a deferred callback that waits on the Runtime API's `/mark/stuck`."""

import ctypes
import os
import random
import time

from basic import mark
from snapshot_restore_py import register_after_restore, register_before_snapshot

from lambda_ack.dedupe import process_store
from lambda_ack.environment import origin


def fail_if(hook: str) -> None:
    if os.environ.get("FAIL_HOOK") == hook:
        raise ConnectionError(f"the {hook} hook could not reach its database")


def jump_clocks(seconds: int) -> None:
    """Move this process's monotonic and boot-time clocks `seconds` forward, as a restore long
    after the snapshot finds them: a new time namespace with those offsets, which the process
    enters (it must be single-threaded then; the kernel's timed waits follow it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWTIME) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWTIME) failed")
    with open("/proc/self/timens_offsets", "w") as offsets:
        offsets.write(f"monotonic {seconds} 0\nboottime {seconds} 0\n")
    namespace = os.open("/proc/self/ns/time_for_children", os.O_RDONLY)
    try:
        if libc.setns(namespace, CLONE_NEWTIME) != 0:
            raise OSError(ctypes.get_errno(), "setns(CLONE_NEWTIME) failed")
    finally:
        os.close(namespace)


CLONE_NEWTIME = 0x80
MONOTONIC_AT_IMPORT = time.monotonic()


# Registered first of all, so it runs last of the before-snapshot hooks (reverse order): just
# before `/restore/next`, where the snapshot is taken.
@register_before_snapshot
def clocks_move_on():
    if os.environ.get("TIME_JUMP_S"):
        jump_clocks(int(os.environ["TIME_JUMP_S"]))


@register_before_snapshot
def fork_last():
    mark("before-snapshot-registered-first")
    if os.environ.get("FORK_AT_SNAPSHOT"):
        # Both processes go on from this state, as two restores of a snapshot would. A snapshot
        # copies memory as it is; `os.fork` differs in one way, `random` reseeding itself in the
        # child, which is undone here so that both hold the state a snapshot would give them.
        state = random.getstate()
        if os.fork() == 0:
            random.setstate(state)


@register_before_snapshot
def flush_caches():
    mark("before-snapshot-registered-second")
    fail_if("before-snapshot")


def reconnect(greeting, *, to):
    mark(f"after-restore-{greeting}-{to}")
    fail_if("after-restore")


register_after_restore(reconnect, "hello", to="db")


@register_after_restore
def warm_caches():
    mark("after-restore-registered-second")


# A warm-up before the snapshot, as AWS's SnapStart guide suggests: it leaves a request id in
# the duplicate guard's memory.
process_store().claim("warm-up-request")


def handler(event, context):
    if event.get("stuck"):  # deferred work that runs on until the test lets it finish
        context.defer(mark, "stuck")
    return {
        "pid": os.getpid(),
        "random": random.random(),
        "warm_up_seen": not process_store().claim("warm-up-request"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        # How long the ack guard takes a cold start's caller to have waited, in ms.
        "caller_waited_ms": (time.perf_counter() - origin.caller_waiting_since(0, True)) * 1000,
        "monotonic_since_import_s": time.monotonic() - MONOTONIC_AT_IMPORT,
    }
