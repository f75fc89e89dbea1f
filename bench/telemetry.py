"""What the observability integrations cost while idle: `.venv/bin/python bench/telemetry.py
[--requests 300] [--rounds 7]`.

The same handler (bench/task/telemetry_app.py: one deferred no-op callback, a small dict
returned) with no tool loaded, with each of Powertools Metrics, the X-Ray SDK, OpenTelemetry's
SDK and Sentry loaded (so the runtime's integration for it is on), and with all four, on this
runtime on the local emulator, each tool with the runtime's integrations on and off
(LAMBDA_RUNTIME_TELEMETRY=0), in one run: the runtime process's CPU per warm invocation, in
alternating rounds (bench/rounds.py), the median round of each. Idle: the tools record nothing
(the emulator's trace header is not sampled, Sentry sees no error), so what is measured is what
the integrations add to every invocation: a span or scope around the callback, a flush.
The last column is the same without the runtime around it: in a fresh interpreter, the
integrations' own work for one invocation with one callback (on, less off; median of 5), which
the machine's noise on the runtime's figures (tens of microseconds) cannot hide.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rounds import cpu_us_per_invocation  # noqa: E402

from lambda_ack.cli.local.emulator import Emulator  # noqa: E402
from lambda_ack.cli.local.loopback import LoopbackServer  # noqa: E402

TASK = ROOT / "bench" / "task"
TOOLS = {
    "Powertools Metrics": "metrics",
    "X-Ray SDK": "xray",
    "OpenTelemetry": "otel",
    "Sentry": "sentry",
    "all four": "metrics,xray,otel,sentry",
}


# In a fresh interpreter with the tools of BENCH_TOOLS loaded (telemetry_app), what the runtime's
# telemetry does for one invocation with one deferred callback, in microseconds: the callback
# made (what the tools take at `defer`), its run inside the tools' spans, the flush point.
IN_PROCESS = """
import time, telemetry_app
from lambda_ack import deferred, telemetry
telemetry.notice_tools()
deferred.open_batch("bench-request")
n = 20000
started = time.perf_counter()
for _ in range(n):
    callback = deferred.Callback(telemetry_app.nothing, (), {}, False)
    if telemetry.in_use:
        telemetry.observed(callback, 1, telemetry_app.nothing)
    else:
        telemetry_app.nothing()
    telemetry.invocation_ended(None)
print((time.perf_counter() - started) / n * 1e6)
"""


UNSAMPLED = "Root=1-6753a2b0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0"


def in_process_us(tools: str, integrations: bool, dsn: str, runs: int = 5) -> float:
    env = {**os.environ, "BENCH_TOOLS": tools, "BENCH_SENTRY_DSN": dsn}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TASK)])
    env["LAMBDA_RUNTIME_TELEMETRY"] = "1" if integrations else "0"
    # As in Lambda, with an invocation X-Ray did not sample (as the emulator's are).
    env["LAMBDA_TASK_ROOT"] = str(TASK)
    env["_X_AMZN_TRACE_ID"] = UNSAMPLED
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", IN_PROCESS], env=env, capture_output=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300, help="invocations per round (300)")
    p.add_argument("--rounds", type=int, default=7, help="rounds per variant (7)")
    args = p.parse_args(argv)
    with LoopbackServer() as sentry:
        dsn = f"http://public@{sentry.url.removeprefix('http://')}/1"

        def function(tools: str, integrations: bool):
            env = {"BENCH_TOOLS": tools, "BENCH_SENTRY_DSN": dsn}
            if not integrations:
                env["LAMBDA_RUNTIME_TELEMETRY"] = "0"
            return lambda: Emulator("telemetry_app.handler", TASK, env=env, timeline=None)

        variants = {("none", True): function("", True)}
        for name, tools in TOOLS.items():
            variants[(name, False)] = function(tools, False)
            variants[(name, True)] = function(tools, True)
        cpu = cpu_us_per_invocation(variants, {"n": 1}, args.requests, args.rounds)
        alone = {
            name: in_process_us(tools, True, dsn) - in_process_us(tools, False, dsn)
            for name, tools in TOOLS.items()
        }
    none = cpu[("none", True)]
    print(f"No tool loaded: {none:.0f} µs per invocation.\n")
    print("| tools loaded | integrations off | on | the integrations add | in process |")
    print("|---|---:|---:|---:|---:|")
    for name in TOOLS:
        off, on = cpu[(name, False)], cpu[(name, True)]
        row = [f"{off:.0f} µs", f"{on:.0f} µs", f"{on - off:+.0f} µs", f"{alone[name]:+.1f} µs"]
        print(f"| {name} | {' | '.join(row)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
