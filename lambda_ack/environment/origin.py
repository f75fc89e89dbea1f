"""Since when has the caller been waiting: what the ack guard counts Slack's 3 seconds from.

On a cold start that the event itself caused, the caller's clock started before this process
did (Lambda spawned `bootstrap` for it), so its wait counts from the process's start (`exec`
keeps the start time of the process Lambda spawned). An environment Lambda started ahead of
traffic is different: provisioned concurrency, Managed Instances workers, and on-demand
environments Lambda initialises before an event comes all wait on their first `/next`, and the
caller's clock starts with the request. Two things tell: `AWS_LAMBDA_INITIALIZATION_TYPE`, and
how long the first `/next` waited, since an event that caused the start is waiting when the
runtime first asks.
"""

from __future__ import annotations

import os
import time

# Types of environment that are always started ahead of their first event.
STARTED_AHEAD = frozenset({"provisioned-concurrency", "lambda-managed-instances"})
# A first `/next` that waited longer than this found no event waiting: nothing started it.
WAITING_EVENT_MS = 100

_started_ahead = False


def first_event_arrived(waited_s: float) -> None:
    """The first `/next` answered after `waited_s`: was this environment started ahead of it?"""
    global _started_ahead
    kind = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "")
    _started_ahead = kind in STARTED_AHEAD or waited_s * 1000 >= WAITING_EVENT_MS


def caller_waiting_since(started: float, cold_start: bool) -> float:
    """The `perf_counter` time the caller of an invocation that began at `started` has been
    waiting since: the process's start on a cold start the event caused, else `started`."""
    return _process_started() if cold_start and not _started_ahead else started


_IMPORTED = time.perf_counter()  # at start-up: the nearest moment known without /proc
_process_start: float | None = None


def _process_started() -> float:
    """When this process started, on the `perf_counter` clock (CLOCK_MONOTONIC here); read
    from /proc when first asked, since only the ack guard asks."""
    global _process_start
    if _process_start is None:
        try:
            with open("/proc/self/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            boot_s = time.clock_gettime(time.CLOCK_BOOTTIME)
            age_s = boot_s - int(fields[19]) / os.sysconf("SC_CLK_TCK")
            _process_start = time.perf_counter() - max(age_s, 0.0)
        except (OSError, ValueError, IndexError, AttributeError):
            _process_start = _IMPORTED  # not Linux
    return _process_start


def restored() -> None:
    """SnapStart: the process started when the snapshot was taken, perhaps hours ago; the cold
    start's caller has been waiting since the restore, which is now."""
    global _process_start
    _process_start = time.perf_counter()
