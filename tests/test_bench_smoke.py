"""The benchmark still runs end to end and produces every figure; its values are not judged here.

Timing assertions would fail on a loaded machine and say nothing about correctness; the numbers
belong in bench/README.md. The first run installs awslambdaric into .cache/bench-venv (cached).
"""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOTH = (
    "init_ms",
    "init_cpu_ms",
    "cpu_us_100B",
    "cpu_us_100KiB",
    "invocations_per_s",
    "ack_p50_us",
    "ack_p99_us",
    "peak_rss_mib",
)
OURS_ONLY = ("defer_ack_p50_ms", "defer_ack_p99_ms", "deferred_ms")
SLACK = ("slack_cold_ms_source", "slack_cold_ms_bytecode")


def test_a_short_run_produces_every_metric(tmp_path):
    out = tmp_path / "bench.json"
    quick = ["--runs", "1", "--invocations", "300", "--large", "30", "--warmup", "20"]
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            *quick,
            "--defers",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]

    expected = [(m, r) for m in BOTH for r in ("lambda-ack", "awslambdaric")]
    expected += [(m, "lambda-ack") for m in OURS_ONLY]
    if (ROOT / "handler_example" / "app.py").exists():
        expected += [(m, "lambda-ack") for m in SLACK]
    for metric, runtime in expected:
        value = summary.get(metric, {}).get(runtime, {}).get("median")
        assert isinstance(value, float) and math.isfinite(value), (metric, runtime, value)
    assert "| init: spawn" in proc.stdout  # the table was printed


def test_the_floor_run_times_python_alone_beside_both_runtimes():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "floor.py"), "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    names = [row.split(" | ")[0][2:] for row in rows[1:]]
    assert names == [
        "Python alone",
        "Python alone, importing logging",
        "lambda-ack",
        "awslambdaric",
    ]
    assert rows[-1].endswith("| 1.00× |")  # every ratio is against awslambdaric
    assert "the lowest ratio any runtime could reach: 0." in proc.stdout
