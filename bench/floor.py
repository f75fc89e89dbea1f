"""The best init any runtime could have: `.venv/bin/python bench/floor.py [--runs 15] [--cpu 1]`.

Init (spawn → first `/next`, as `./dev bench` measures it) of four processes, interleaved:
- **Python alone**: the bench's interpreter running a client of a few lines that asks for the
  first event (the C socket module, one request) and nothing else: what every runtime written in
  Python pays before its own code runs;
- **Python alone, with the handler's imports** (`--imports`, default `logging`): the same client
  after importing them, as the function's module would;
- **lambda-ack** and **awslambdaric**, the bench handler importing them (`BENCH_IMPORTS`).

A runtime can get no nearer than the second line; the gap between it and lambda-ack is all of
this runtime's own start-up (its modules, the log redaction, the shutdown extension's
registration, loading the handler); its ratio to awslambdaric is the best ratio any runtime could
reach for such a function.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envs  # noqa: E402
import report  # noqa: E402
import scenario  # noqa: E402
from server import Server  # noqa: E402

# Asks for the first event and waits there, as a runtime blocked in `/next` does.
CLIENT = """
import _socket, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
connection = _socket.socket()
connection.connect((host, int(port)))
connection.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
connection.recv(65536)
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--imports", default="logging", help="what the handler imports (a,b,...)")
    p.add_argument("--cpu", type=int, help="pin the server and every process to this CPU")
    args = p.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # inherited by every process spawned from here
    python = envs.bench_python()
    names = [name for name in args.imports.split(",") if name]
    floor = f"Python alone, importing {', '.join(names)}" if names else "Python alone"
    server = Server()
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        task_root = envs.stage_runtime(Path(tmp))
        client = [str(python), "-u", "-P", "-c"]
        starts = {
            "Python alone": (*client, CLIENT),
            floor: (*client, "".join(f"import {name}\n" for name in names) + CLIENT),
            "lambda-ack": scenario.lambda_ack(task_root.parent).argv,
            "awslambdaric": scenario.awslambdaric(task_root, python).argv,
        }
        env = scenario.lambda_env(python, server.address, task_root, scenario.HANDLER)
        env["BENCH_IMPORTS"] = ",".join(names)
        for _ in range(args.runs):
            for name, start in starts.items():
                with scenario.Spawned(start, env, task_root) as spawned:
                    first_next = server.wait_idle(spawned.proc)
                    samples.setdefault(name, []).append((first_next - spawned.started_ns) / 1e6)
                server.forget()
    server.close()
    summary = {name: report.stats(values) for name, values in samples.items()}
    median = {name: stats["median"] for name, stats in summary.items()}
    theirs = median["awslambdaric"]
    print(f"init, spawn → first `/next`, {args.runs} runs each, interleaved")
    print("| process | init (ms) | against awslambdaric |")
    print("|---|---:|---:|")
    for name, stats in summary.items():
        print(f"| {name} | {report.cell(stats)} | {median[name] / theirs:.2f}× |")
    print(f"lambda-ack's own start-up: {median['lambda-ack'] - median[floor]:.1f} ms")
    print(f"the lowest ratio any runtime could reach: {median[floor] / theirs:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
