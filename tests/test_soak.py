"""Endurance: 100,000 invocations through the local emulator, a random mix of outcomes.

Slow (a few minutes): run with `./dev test -m slow`. Figures are reported in the README.
"""

import os
import random
import re
import time

import pytest
from fake_api import HANDLERS

from devtools.emulator import Emulator

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
