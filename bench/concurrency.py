"""Managed Instances: both runtimes serving N invocations at once on the same emulator and
interpreter. `.venv/bin/python bench/concurrency.py [--seconds 5] [--slots 4 16] [--rounds 3]`.

Each case runs `lambda_ack.cli.local.emulator` with `max_concurrency=N` (what
`AWS_LAMBDA_MAX_CONCURRENCY` tells both runtimes), waits until all N workers ask for events, then
lets N callers invoke for `--seconds`, each sending its next invoke once its previous invocation
has ended (deferred work included), so the slots stay full without a storm of 429s to measure
instead. Figures: invocations completed per second (the worker back on `/next`), and the peak of
the whole process tree's proportional set size (PSS, so pages shared by forked workers count
once), sampled every 20 ms. Handlers: the bench's trivial one, and one with 50 ms of work per
invocation: deferred on lambda-ack (`defer`), in the handler on awslambdaric, which cannot defer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]  # the bench's modules, as bench/run.py has them

from envs import awslambdaric_bootstrap, bench_python, stage_runtime  # noqa: E402
from procstat import cpu_seconds  # noqa: E402
from scenario import HANDLER, Spawned, awslambdaric, lambda_ack, lambda_env  # noqa: E402
from server import Server  # noqa: E402

from lambda_ack.cli.local.emulator import Emulator  # noqa: E402
from lambda_ack.cli.local.invoke import INVOKE_PATH  # noqa: E402
from lambda_ack.cli.local.peer_process import group_members  # noqa: E402


def pss_kib(group: int) -> int:
    total = 0
    for pid in group_members(group):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def tree(pid: int) -> list[int]:
    """`pid` and every process under it (the workers a runtime forked)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def lean_case(runtime, python: Path, slots: int, event: dict, count: int):
    """(inv/s, CPU µs per invocation) of `runtime` with `slots` workers on the bench's own
    Runtime API, which answers every `/next` at once: no emulator, no callers."""
    server = Server()
    env = lambda_env(python, server.address, runtime.task_root, HANDLER)
    env.update(AWS_LAMBDA_MAX_CONCURRENCY=str(slots), AWS_LAMBDA_LOG_FORMAT="JSON")
    body = json.dumps(event).encode()
    try:
        with Spawned(runtime.argv, env, runtime.task_root) as spawned:
            server.wait_idle(spawned.proc, workers=slots)
            server.run(spawned.proc, body, 20 * slots)  # warm every worker
            pids = tree(spawned.proc.pid)
            before = sum(map(cpu_seconds, pids))
            phase = server.run(spawned.proc, body, count)
            cpu = sum(map(cpu_seconds, pids)) - before
            elapsed_s = (phase.next_seen[-1] - phase.answered[0]) / 1e9
            return count / elapsed_s, cpu / count * 1e6
    finally:
        server.close()


def cpu_s(group: int) -> float:
    """User and system CPU of the process tree's members so far, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in group_members(group):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def run_case(
    bootstrap: Path, task_root: Path, python: Path, slots: int, event: dict, seconds: float
):
    with Emulator(
        "bench_handler.handler",
        task_root,
        env={"LAMBDA_RUNTIME_PYTHON": str(python)},
        bootstrap=bootstrap,
        timeline=None,
        max_concurrency=slots,
    ) as function:
        function.wait_ready(slots, timeout=60)
        group = function.runtime_pid
        stop = threading.Event()
        peak = [pss_kib(group)]

        def sample() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], pss_kib(group))

        def caller() -> None:
            host, port = function.invoke_address.split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)  # kept alive
            body = json.dumps(event).encode()
            while not stop.is_set():
                conn.request("POST", INVOKE_PATH, body)
                response = conn.getresponse()
                response.read()
                if response.status == 200:  # the next invoke once this one has ended
                    function.wait_ended(response.getheader("X-Amzn-RequestId"))
            conn.close()

        threads = [threading.Thread(target=sample)] + [
            threading.Thread(target=caller) for _ in range(slots)
        ]
        for thread in threads:
            thread.start()
        started_count, started = len(function.timelines), time.perf_counter()
        cpu_before = cpu_s(group)
        time.sleep(seconds)  # the measuring window
        done, elapsed = len(function.timelines) - started_count, time.perf_counter() - started
        cpu = cpu_s(group) - cpu_before
        stop.set()
        for thread in threads:
            thread.join(30)
        return done / elapsed, peak[0] / 1024, cpu / done * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--slots", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each case; medians shown")
    parser.add_argument("--lean-count", type=int, default=5000, help="events per lean run")
    args = parser.parse_args()
    python = bench_python()
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "lambda-ack"
        task = stage_runtime(stage)
        (Path(tmp) / "awslambdaric").mkdir()
        ric = awslambdaric_bootstrap(Path(tmp) / "awslambdaric", python)
        print(
            f"{'case':<34}{'lambda-ack':>34}{'awslambdaric':>34}{'ratio':>21}\n"
            f"{'':<34}{'inv/s  PSS peak  CPU/inv':>34}{'inv/s  PSS peak  CPU/inv':>34}"
            f"{'inv/s  PSS  CPU':>21}"
        )
        for slots in args.slots:
            for label, ours, theirs in (
                ("trivial handler", {}, {}),
                ("50 ms of work per invocation", {"defer_s": 0.05}, {"work_s": 0.05}),
            ):
                runs: dict[str, list] = {"ours": [], "theirs": []}
                for _ in range(args.rounds):  # alternated, so drift on the machine hits both
                    runs["ours"].append(
                        run_case(stage / "bootstrap", task, python, slots, ours, args.seconds)
                    )
                    runs["theirs"].append(run_case(ric, task, python, slots, theirs, args.seconds))
                a, r = (
                    [statistics.median(m[i] for m in runs[side]) for i in range(3)]
                    for side in ("ours", "theirs")
                )
                print(
                    f"N={slots:<3}{label:<30}"
                    f"{a[0]:>12.0f} {a[1]:>6.1f} MiB {a[2]:>6.0f} µs"
                    f"{r[0]:>12.0f} {r[1]:>6.1f} MiB {r[2]:>6.0f} µs"
                    f"{a[0] / r[0]:>9.2f}x {a[1] / r[1]:>4.2f}x {a[2] / r[2]:>4.2f}x",
                    flush=True,
                )
        lean(stage, python, args)


def lean(stage: Path, python: Path, args: argparse.Namespace) -> None:
    """The runtimes' own pace: the bench's Runtime API hands every waiting worker an event at
    once (no emulator, no callers, no 429), `--lean-count` events per run."""
    ours, theirs = lambda_ack(stage), awslambdaric(stage / "task", python)
    print(f"\nOn the bench's own Runtime API, {args.lean_count} events per run:")
    print(f"{'case':<34}{'lambda-ack':>22}{'awslambdaric':>22}{'ratio':>14}")
    for slots in args.slots:
        for label, mine, theirs_event in (
            ("trivial handler", {}, {}),
            ("50 ms of work per invocation", {"defer_s": 0.05}, {"work_s": 0.05}),
        ):
            count = args.lean_count if not mine else max(slots * 20, args.lean_count // 10)
            a = [lean_case(ours, python, slots, mine, count) for _ in range(args.rounds)]
            r = [lean_case(theirs, python, slots, theirs_event, count) for _ in range(args.rounds)]
            a_rate, a_cpu = (statistics.median(x[i] for x in a) for i in range(2))
            r_rate, r_cpu = (statistics.median(x[i] for x in r) for i in range(2))
            print(
                f"N={slots:<3}{label:<30}{a_rate:>9.0f} inv/s {a_cpu:>5.0f} µs"
                f"{r_rate:>9.0f} inv/s {r_cpu:>5.0f} µs"
                f"{a_rate / r_rate:>7.2f}x {a_cpu / r_cpu:>5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
