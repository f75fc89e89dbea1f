"""lambda-ack against awslambdaric, side by side: `python bench/run.py [--runs 5] [--cpu 1]`.

Runs alternate (lambda-ack, awslambdaric, lambda-ack, ...) so slow spells on a shared machine
land on both; the table gives medians over runs with their min–max. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import envs
import report
import scenario
import slack
from server import Server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5, help="runs per runtime, interleaved (5)")
    p.add_argument("--invocations", type=int, default=10_000, help="100 B events per run")
    p.add_argument("--large", type=int, default=1_000, help="100 KiB events per run (1000)")
    p.add_argument("--warmup", type=int, default=200, help="untimed events after init (200)")
    p.add_argument("--defers", type=int, default=3, help="2 s deferred callbacks per run (3)")
    p.add_argument("--slack-runs", type=int, help="Slack cold starts per variant (= --runs)")
    p.add_argument("--cpu", type=int, help="pin the server and both runtimes to this CPU")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for both runtimes (repeatable)",
    )
    p.add_argument(
        "--runtime-dir",
        type=Path,
        default=envs.ROOT,
        help="take bootstrap and runtime/ from this tree, e.g. a patched copy (the repository)",
    )
    p.add_argument("--json", type=Path, help="also write every sample and the summary here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # inherited by every runtime spawned from here
    plan = scenario.Plan(
        warmup=args.warmup,
        small=args.invocations,
        large=args.large,
        defers=args.defers,
        env=dict(item.split("=", 1) for item in args.env),
    )
    python = envs.bench_python()
    work = Path(tempfile.mkdtemp(prefix="lambda-ack-bench-"))
    server = Server()
    try:
        task_root = envs.stage_runtime(work / "ours", source=args.runtime_dir)
        runtimes = (scenario.lambda_ack(work / "ours"), scenario.awslambdaric(task_root, python))
        runs: dict[str, list[dict]] = {rt.name: [] for rt in runtimes}
        for i in range(args.runs):
            for rt in runtimes:
                runs[rt.name].append(scenario.measure(rt, python, server, plan))
                _progress(
                    f"run {i + 1}/{args.runs} {rt.name}: init {runs[rt.name][-1]['init_ms']:.1f} ms"
                )
        for rt in runtimes:  # after every init: their idle seconds must not precede one
            if rt.defers and plan.defers:
                for run in runs[rt.name]:
                    run.update(scenario.measure_deferred(rt, python, server, plan))
        summary = report.summarise(runs)
        slack_runs = args.runs if args.slack_runs is None else args.slack_runs
        summary.update(slack.cold_starts(python, server, work / "slack", slack_runs, plan.env))
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"machine: {report.machine()}; CPU pinning: {args.cpu if args.cpu is not None else 'none'}"
    )
    print(
        f"runs: {args.runs} per runtime, {args.invocations} × 100 B + {args.large} × 100 KiB "
        f"events each after {args.warmup} warm-up\n"
    )
    print(report.table(summary))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "machine": report.machine(),
                    "summary": summary,
                    "runs": runs,
                },
                indent=1,
                default=str,
            )
        )
    return 0


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
