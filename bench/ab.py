"""Two trees of this runtime, CPU per invocation side by side: `python bench/ab.py OLD NEW
[--blocks 12] [--per-block 2000] [--cpu 1]`.

What `bench/run.py` measures against awslambdaric, here between two versions of this runtime (a
checkout of an older commit, a patched copy), to find where a few microseconds went: both
runtimes live at once, each with its own Runtime API (`bench/server.py`), the benchmark's 100 B
event handed to each in turn, in alternating blocks, so drift and noise fall on both alike. CPU
is the runtime process's own (`/proc`, bench/procstat.py), per invocation, the median block of
each, and the median of the per-block differences.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from envs import bench_python, stage_runtime  # noqa: E402
from procstat import cpu_seconds  # noqa: E402
from scenario import HANDLER, SMALL_EVENT, Spawned, lambda_ack, lambda_env  # noqa: E402
from server import Server  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trees", nargs=2, type=Path, metavar="TREE")
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--per-block", type=int, default=2000)
    p.add_argument("--cpu", type=int, help="pin the servers and both runtimes to this CPU")
    args = p.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    python = bench_python()
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        runtimes, servers, spawned = [], [], []
        try:
            for i, tree in enumerate(args.trees):
                stage = stage_runtime(Path(tmp) / str(i), source=tree.resolve()).parent
                runtime, server = lambda_ack(stage), Server()
                env = lambda_env(python, server.address, runtime.task_root, HANDLER)
                process = Spawned(runtime.argv, env, runtime.task_root).__enter__()
                server.wait_idle(process.proc)
                server.run(process.proc, SMALL_EVENT, 500)  # warm
                runtimes.append(runtime)
                servers.append(server)
                spawned.append(process)
            samples: list[list[float]] = [[], []]
            for _ in range(args.blocks):
                for i in (0, 1):
                    pid = spawned[i].proc.pid
                    before = cpu_seconds(pid)
                    servers[i].run(spawned[i].proc, SMALL_EVENT, args.per_block)
                    samples[i].append((cpu_seconds(pid) - before) / args.per_block * 1e6)
        finally:
            for process in spawned:
                process.__exit__(None, None, None)
            for server in servers:
                server.close()
    differences = [new - old for old, new in zip(*samples, strict=True)]
    for tree, block in zip(args.trees, samples, strict=True):
        print(f"{tree}: {statistics.median(block):.1f} µs per invocation (median block)")
    print(f"second − first: {statistics.median(differences):+.1f} µs (median of the blocks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
