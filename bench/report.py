"""From per-run samples to the table: medians, min–max spread, ratios, and the targets.

A machine shared with other work makes single runs unreliable, so each figure is the median over
runs with the range beside it; per-invocation distributions (acknowledgement latency) are reduced
within a run first (its p50, its p99), then across runs the same way.
"""

from __future__ import annotations

import itertools
import math
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

OURS = "lambda-ack"
THEIRS = "awslambdaric"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    digits: int
    per_run: Callable[[dict], float | None]
    target: Callable[[float, float | None], str] | None = None


def _field(name: str) -> Callable[[dict], float | None]:
    return lambda run: run.get(name)


def _pct(name: str, q: float) -> Callable[[dict], float | None]:
    return lambda run: percentile(run[name], q) if run.get(name) else None


def _ratio_at_most(limit: float) -> Callable[[float, float | None], str]:
    def judge(ours: float, theirs: float | None) -> str:
        ratio = ours / theirs if theirs else math.nan
        verdict = "met" if ratio <= limit else f"missed by {ratio / limit - 1:.0%}"
        return f"≤ {limit:g}×: {verdict}"

    return judge


def _rss_target(ours: float, theirs: float | None) -> str:
    over = ours - (theirs or math.nan)
    verdict = "met" if over <= 2 else f"missed by {over - 2:.1f} MiB"
    return f"≤ +2 MiB: {verdict} ({over:+.1f} MiB)"


def _defer_target(ours: float, theirs: float | None) -> str:
    return "p99 < 5 ms: " + ("met" if ours < 5 else f"missed by {ours - 5:.1f} ms")


METRICS = (
    Metric(
        "init_ms", "init: spawn → first `/next` (ms)", 1, _field("init_ms"), _ratio_at_most(0.80)
    ),
    Metric("init_cpu_ms", "init CPU (ms)", 1, _field("init_cpu_ms")),
    Metric(
        "cpu_us_100B",
        "CPU per invocation, 100 B event (µs)",
        1,
        _field("cpu_us_100B"),
        _ratio_at_most(0.63),
    ),
    Metric(
        "cpu_us_100KiB",
        "CPU per invocation, 100 KiB event (µs)",
        1,
        _field("cpu_us_100KiB"),
        _ratio_at_most(1.0),
    ),
    Metric("invocations_per_s", "invocations per second (100 B)", 0, _field("invocations_per_s")),
    Metric(
        "ack_p50_us", "`/next` answered → `/response` received, p50 (µs)", 1, _pct("ack_us", 50)
    ),
    Metric(
        "ack_p99_us", "`/next` answered → `/response` received, p99 (µs)", 1, _pct("ack_us", 99)
    ),
    Metric("peak_rss_mib", "peak RSS, VmHWM (MiB)", 2, _field("peak_rss_mib"), _rss_target),
)


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> runtime -> {median, min, max, n}, over the runs that produced the metric."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for metric in METRICS:
        for name, samples in runs.items():
            values = [v for v in map(metric.per_run, samples) if v is not None]
            if values:
                summary.setdefault(metric.key, {})[name] = stats(values)
    for sample, q in itertools.product(("defer_ack", "early_ack"), (50, 99)):
        pooled = [us / 1e3 for run in runs.get(OURS, ()) for us in run.get(f"{sample}_us", ())]
        if pooled:
            summary[f"{sample}_p{q}_ms"] = {
                OURS: {**stats([percentile(pooled, q)]), "pooled": len(pooled)}
            }
    deferred = [ms for run in runs.get(OURS, ()) for ms in run.get("deferred_ms", ())]
    if deferred:
        summary["deferred_ms"] = {OURS: stats(deferred)}
    return summary


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def cell(stats: dict[str, float] | None, digits: int = 1) -> str:
    """A figure as every bench table prints it: "median (min–max)", or the median alone when the
    runs agree to the digits shown, so a spread is never hidden and never invented."""
    if stats is None:
        return "n/a"
    median, low, high = (f"{stats[k]:,.{digits}f}" for k in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}–{high})"


EXTRA_ROWS = (
    ("defer_ack_p50_ms", "ack with a 2 s deferred callback, p50 (ms)", 2, None),
    ("defer_ack_p99_ms", "ack with a 2 s deferred callback, p99 (ms)", 2, _defer_target),
    ("deferred_ms", "…its deferred phase, `/response` → next `/next` (ms)", 0, None),
    ("early_ack_p50_ms", "`runtime.ack()`, then 2 s of work in the handler, p50 (ms)", 2, None),
    (
        "early_ack_p99_ms",
        "`runtime.ack()`, then 2 s of work in the handler, p99 (ms)",
        2,
        _defer_target,
    ),
    ("slack_cold_ms_source", "Slack app cold start, zip, no bytecode (ms)", 1, None),
    ("slack_cold_ms_bytecode", "Slack app cold start, zip, bytecode (ms)", 1, None),
)


def table(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    """The Markdown table of medians (min–max), ratios to awslambdaric and targets."""
    lines = [
        f"| metric | {OURS} | {THEIRS} | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    rows = [(m.key, m.label, m.digits, m.target) for m in METRICS] + list(EXTRA_ROWS)
    for key, label, digits, target in rows:
        cells = summary.get(key, {})
        ours, theirs = cells.get(OURS), cells.get(THEIRS)
        ratio = f"{ours['median'] / theirs['median']:.2f}" if ours and theirs else ""
        verdict = ""
        if target and ours:
            verdict = target(ours["median"], theirs["median"] if theirs else None)
        if ours and "pooled" in ours:
            label += f" [{int(ours['pooled'])} acks pooled]"
        lines.append(
            f"| {label} | {cell(ours, digits)} | {cell(theirs, digits)} | {ratio} | {verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """One line naming the machine, for the README next to the table."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return (
        f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )
