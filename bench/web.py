"""What serving a web app costs: `.venv/bin/python bench/web.py [--requests 300] [--rounds 7]`.

The same FastAPI app behind `runtime.web.asgi` and behind Mangum, and the same Flask app behind
`runtime.web.wsgi` and behind apig-wsgi, all on this runtime (bench/task/web_app.py), in one run:
- CPU per invocation: the runtime process's own CPU time (`/proc`, bench/procstat.py) over
  `--requests` warm invocations of `GET /items/7?q=x` from a Function URL, so the emulator's
  work, in the benchmark's process, is not counted; the two handlers of a pair in alternating
  rounds, the median round of each;
- the cold start each adapter adds: importing it and wrapping the app (for `runtime.web.asgi`,
  the app's lifespan startup too, which Mangum runs in every invocation instead), in a fresh
  interpreter after the app itself is imported, with bytecode (median of 7);
- a `POST /later` whose background task sleeps 1 s: how long the caller waits for the answer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from envs import stage_runtime  # noqa: E402
from rounds import cpu_us_per_invocation as rounds_cpu_us  # noqa: E402
from web_events import event  # noqa: E402

from lambda_ack.cli.local.emulator import Emulator  # noqa: E402

TASK = ROOT / "bench" / "task"
PAIRS = (("asgi_handler", "mangum_handler"), ("wsgi_handler", "apig_handler"))
ITEM = event("2.0", "GET", "/items/7", [("q", "x")])
LATER = event("2.0", "POST", "/later", [("seconds", "1")])


def cpu_us_per_invocation(pair: tuple[str, str], requests: int, rounds: int) -> dict[str, float]:
    """Both handlers warm side by side, in alternating rounds (bench/rounds.py)."""
    return rounds_cpu_us(
        {h: lambda h=h: Emulator(f"web_app.{h}", TASK, timeline=None) for h in pair},
        ITEM,
        requests,
        rounds,
    )


def caller_wait_ms(handler: str) -> float:
    with Emulator(f"web_app.{handler}", TASK, timeline=None) as function:
        function.invoke(ITEM)
        function.wait_idle()
        started = time.perf_counter()
        function.invoke(LATER)
        waited = (time.perf_counter() - started) * 1000
        function.wait_idle()
        return waited


ADAPTERS = {
    "asgi_handler": "from runtime.web import asgi; asgi(app)",
    "mangum_handler": "from mangum import Mangum; Mangum(app)",
    "wsgi_handler": "from runtime.web import wsgi; wsgi(app)",
    "apig_handler": "from apig_wsgi import make_lambda_handler; make_lambda_handler(app)",
}
APPS = {
    "asgi_handler": "from fastapi import FastAPI; app = FastAPI()",
    "wsgi_handler": "from flask import Flask; app = Flask('bench')",
}
APPS["mangum_handler"], APPS["apig_handler"] = APPS["asgi_handler"], APPS["wsgi_handler"]


def adapter_import_ms(handler: str, runtime_dir: Path, runs: int = 7) -> float:
    """`lambda_ack` from `runtime_dir`, with bytecode as a zip has it (the adapters' packages
    were byte-compiled when pip installed them); imported before the clock starts, as the
    runtime has imported it before the handler's module."""
    code = (
        f"import time, lambda_ack; {APPS[handler]}; t = time.perf_counter(); {ADAPTERS[handler]}; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": str(runtime_dir)}
    samples = [
        float(subprocess.run([sys.executable, "-P", "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(runs)
    ]  # fmt: skip
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows = []
    staged = stage_runtime(Path(tempfile.mkdtemp(prefix="bench-web-"))).parent
    for pair in PAIRS:
        cpu = cpu_us_per_invocation(pair, args.requests, args.rounds)
        figures = {}
        for handler in pair:
            figures[handler] = {
                "cpu_us": cpu[handler],
                "import_ms": adapter_import_ms(handler, staged),
            }
            if handler in ("asgi_handler", "mangum_handler"):
                figures[handler]["wait_ms"] = caller_wait_ms(handler)
        rows.append(figures)
    print(json.dumps(rows, indent=1))
    print("| adapter | CPU per invocation | adds to a cold start | caller waits, 1 s task |")
    print("|---|---:|---:|---:|")
    for figures in rows:
        for handler, f in figures.items():
            wait = f"{f['wait_ms']:.0f} ms" if "wait_ms" in f else "n/a"
            print(f"| {handler} | {f['cpu_us']:.0f} µs | {f['import_ms']:.1f} ms | {wait} |")


if __name__ == "__main__":
    main()
