"""Endurance: 100,000 invocations through the local emulator, a random mix of outcomes.

Slow (a few minutes): run with `./dev test -m slow`. Figures are reported in the README.
"""

import os
import random
import re
import time

import pytest
from fake_api import HANDLERS

from lambda_ack.cli.local.emulator import Emulator

pytest_plugins = ["sqs_support"]

INVOCATIONS = int(os.environ.get("SOAK_INVOCATIONS", "100000"))
WARM_UP = INVOCATIONS // 10


@pytest.mark.slow
def test_soak_every_invocation_answered_once_nothing_lost_memory_flat():
    rng = random.Random(7)
    kinds = rng.choices(["ok", "error", "callback_fail"], weights=[8, 1, 1], k=INVOCATIONS)
    env = {"LAMBDA_RUNTIME_PYTHON": os.environ.get("SOAK_PYTHON", _venv_python())}
    with Emulator("soak.handler", HANDLERS, env, timeline=None) as emulator:
        started = time.monotonic()
        for n, kind in enumerate(kinds):
            result = emulator.invoke({"kind": kind, "n": n})
            assert (result.function_error is not None) == (kind == "error"), (n, result)
            if n == WARM_UP:
                pid = emulator.runtime_pid
                rss_warm, fds_warm = _rss_kib(pid), _fd_count(pid)
        emulator.wait_idle()
        elapsed = time.monotonic() - started
        assert emulator.runtime_pid == pid  # one process throughout: no crash, no restart
        rss_end, fds_end = _rss_kib(pid), _fd_count(pid)
        timelines = emulator.timelines
        output = emulator.output

    # Answered exactly once, each: one timeline per request id, none refused by the server.
    assert len(timelines) == INVOCATIONS
    assert len({t.request_id for t in timelines}) == INVOCATIONS
    assert "refused /response" not in output and "refused /error" not in output
    # No deferred callback lost: every registered one ran, failed (logged) or was discarded.
    totals = {"run": 0, "failed": 0, "skipped": 0, "discarded": 0}
    for match in re.finditer(
        r"callbacks_run=(\d+) failed=(\d+) skipped=(\d+) discarded=(\d+)", output
    ):
        for key, value in zip(totals, match.groups(), strict=True):
            totals[key] += int(value)
    registered = sum({"ok": 1, "error": 2, "callback_fail": 2}[k] for k in kinds)
    assert totals["run"] + totals["skipped"] + totals["discarded"] == registered
    assert totals["failed"] == kinds.count("callback_fail")
    assert output.count("deferred callback broken failed") == kinds.count("callback_fail")
    assert totals["discarded"] == 2 * kinds.count("error")
    # Flat after warm-up.
    growth_kib = rss_end - rss_warm
    print(
        f"\nsoak: {INVOCATIONS} invocations in {elapsed:.1f} s "
        f"({INVOCATIONS / elapsed:.0f}/s); RSS {rss_warm} -> {rss_end} KiB "
        f"(+{growth_kib} KiB after {WARM_UP} warm-up); fds {fds_warm} -> {fds_end}; "
        f"callbacks {totals}"
    )
    assert growth_kib < 1024
    assert fds_end <= fds_warm


def _venv_python() -> str:
    import sys

    return sys.executable


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


SECRET_VALUE = 'soak"secret\\value-0123456789'
# What each kind of tests/handlers/soak_hostile.py registers: (callbacks, failing, discarded).
REGISTERED = {
    "sync": (3, 0, 0),  # count, and chain which defers one more
    "async": (2, 0, 0),  # an async callback, and a sync one
    "threads": (4, 0, 0),  # two worker threads defer two each while the handler waits
    "error": (2, 0, 1),  # one discarded, one always=True that runs
    "cancelled_callback": (2, 1, 0),  # an async callback raising CancelledError, then count
    "cancelled_handler": (1, 0, 1),  # an async handler raising CancelledError
    "unawaited": (1, 0, 0),  # and a task left running
    "secrets": (1, 0, 0),  # and the secret down every log path
}


@pytest.mark.slow
def test_second_soak_hostile_paths_nothing_lost_no_secret_flat():
    """Async and sync handlers, callbacks deferring more, defer from worker threads, handler
    errors, cancelled handlers and callbacks, un-awaited tasks and a secret in every log path."""
    rng = random.Random(13)
    kinds = rng.choices(list(REGISTERED), k=INVOCATIONS)
    env = {
        "LAMBDA_RUNTIME_PYTHON": os.environ.get("SOAK_PYTHON", _venv_python()),
        "SOAK_SECRET": SECRET_VALUE,
        "LAMBDA_RUNTIME_REDACT": "SOAK_SECRET",
    }
    failing = {"error", "cancelled_handler"}
    with Emulator("soak_hostile.handler", HANDLERS, env, timeline=None) as emulator:
        started = time.monotonic()
        for n, kind in enumerate(kinds):
            result = emulator.invoke({"kind": kind, "n": n})
            assert (result.function_error is not None) == (kind in failing), (n, result)
            if n == WARM_UP:
                emulator.wait_idle()
                pid = emulator.runtime_pid
                warm = _rss_kib(pid), _fd_count(pid), _thread_count(pid)
        emulator.wait_idle()
        elapsed = time.monotonic() - started
        assert emulator.runtime_pid == pid  # one process throughout
        end = _rss_kib(pid), _fd_count(pid), _thread_count(pid)
        timelines = emulator.timelines
        output = emulator.output

    assert len({t.request_id for t in timelines}) == len(timelines) == INVOCATIONS
    totals = {"run": 0, "failed": 0, "skipped": 0, "discarded": 0}
    for match in re.finditer(
        r"callbacks_run=(\d+) failed=(\d+) skipped=(\d+) discarded=(\d+)", output
    ):
        for key, value in zip(totals, match.groups(), strict=True):
            totals[key] += int(value)
    registered = sum(REGISTERED[k][0] for k in kinds)
    assert totals["run"] + totals["skipped"] + totals["discarded"] == registered, totals
    assert totals["failed"] == sum(REGISTERED[k][1] for k in kinds)
    assert totals["discarded"] == sum(REGISTERED[k][2] for k in kinds)
    # Each failure and each discard is also its own log line, with its reason.
    assert output.count("deferred callback cancelled failed") == totals["failed"]
    assert output.count("discarded: the invocation failed") == totals["discarded"]
    assert output.count("Traceback (most recent call last)") >= totals["failed"]
    # The secret, in none of the forms it was written in.
    for form in ('soak"secret', 'soak\\"secret', "secret\\value", "secret\\\\value", "0123456789"):
        assert form not in output, form
    assert output.count("--- Logging error ---") == kinds.count("secrets")
    growth_kib = end[0] - warm[0]
    print(
        f"\nsoak 2: {INVOCATIONS} invocations in {elapsed:.1f} s ({INVOCATIONS / elapsed:.0f}/s);"
        f" RSS {warm[0]} -> {end[0]} KiB (+{growth_kib} KiB after {WARM_UP} warm-up); "
        f"fds {warm[1]} -> {end[1]}; threads {warm[2]} -> {end[2]}; callbacks {totals}"
    )
    assert growth_kib < 1024
    assert end[1] <= warm[1] and end[2] <= warm[2]


def _thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.slow
def test_handoff_soak_no_durable_callback_is_lost(sqs, tmp_path):
    """10,000 invocations with durable callbacks that fail, hang past the timeout, or are cut
    off by SIGTERM (the environment replaced); then the queue is drained into the same function
    as an event source mapping would, until it is empty. Every callback must have run."""
    from sqs_support import drain_once

    count = int(os.environ.get("SOAK_HANDOFF_INVOCATIONS", "10000"))
    rng = random.Random(11)
    modes = rng.choices(["ok", "fail", "slow", "hang"], weights=[900, 50, 49, 1], k=count)
    outputs: list[str] = []

    def environment() -> Emulator:
        return Emulator("soak_handoff.handler", HANDLERS, env=sqs.env, function_timeout_s=2)

    function = environment()
    try:
        for n, mode in enumerate(modes):
            assert function.invoke({"id": n, "mode": mode}).status == 200
            if mode == "slow" and rng.random() < 0.4:  # SIGTERM with the callback running
                # As for an environment that has served a while: this process's client is made
                # (a timeout kill restarts the runtime, and each process makes its own).
                processes = sum(timeline.cold_start for timeline in function.timelines)
                function.wait_output("hand-off: SQS client ready", count=processes)
                function.close()
                outputs.append(function.output)
                function = environment()
        function.wait_idle()
        while drain_once(sqs, lambda event: function.invoke(event, timeout=30).json()):
            pass
        function.wait_idle()
    finally:
        function.close()
        outputs.append(function.output)
    output = "".join(outputs)
    ran = {int(n) for n in re.findall(r"^ran (\d+)$", output, re.MULTILINE)}
    lost = set(range(count)) - ran
    (tmp_path / "output.log").write_text(output)
    assert not lost, f"{len(lost)} lost, e.g. {sorted(lost)[:10]}; see {tmp_path}/output.log"
    handed = output.count(" handed off (")
    assert "could not be handed off" not in output and "to run it again" not in output
    print(f"hand-off soak: {count} invocations, {handed} hand-offs, {len(outputs)} environments")
