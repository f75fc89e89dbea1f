"""A function with SnapStart hooks registered through AWS's `snapshot_restore_py`, as on the
managed runtime; each hook marks the Runtime API's timeline when it runs. The environment says
which hook fails (`FAIL_HOOK`), and whether the last before-snapshot hook forks the process
(`FORK_AT_SNAPSHOT`: two environments from one state, as two restores of one snapshot). An event
with `"stuck": true` leaves a deferred callback that waits on the Runtime API's `/mark/stuck`."""

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


# Registered first, so it runs last of the before-snapshot hooks (reverse order).
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
    }
