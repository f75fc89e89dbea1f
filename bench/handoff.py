"""What durable work costs: `.venv/bin/python bench/handoff.py [--rounds 20000]`.

- `defer` against `defer(..., durable=True)` of a callback that succeeds, in process: the
  durable one is checked at the call (its function looked up by name, its arguments encoded as
  JSON) and sends nothing;
- one hand-off: from the decision to the send's answer, against moto's server on loopback, with
  the client already made (as the runtime makes it when a deferred phase with durable work
  begins), and what making that client costs;
- what importing boto3 costs, in a fresh interpreter (only functions that set a queue pay it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moto_loopback import moto_on_loopback  # noqa: E402


def work(report_id: str, attempt: int) -> None:
    """The deferred callback: a module-level function with JSON arguments."""


def defer_cost_us(rounds: int, durable: bool) -> float:
    from lambda_ack import deferred

    samples = []
    for _ in range(5):
        deferred.open_batch("bench")
        started = time.perf_counter_ns()
        for i in range(rounds):
            deferred.defer(work, "report-1", i, durable=durable)
        samples.append((time.perf_counter_ns() - started) / rounds / 1000)
    return statistics.median(samples)


def handoff_ms(sends: int) -> tuple[float, float, float]:
    import boto3

    with moto_on_loopback():
        started = time.perf_counter()
        client = boto3.client("sqs")
        client_ms = (time.perf_counter() - started) * 1000
        queue = client.create_queue(QueueName="bench-handoff")["QueueUrl"]
        times = []
        for i in range(sends):
            started = time.perf_counter()
            client.send_message(QueueUrl=queue, MessageBody=f'{{"lambdaAckHandoff": 1, "n": {i}}}')
            times.append((time.perf_counter() - started) * 1000)
        return client_ms, statistics.median(times), max(times)


def boto3_import_ms(runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import boto3"],
            capture_output=True,
            text=True,
            check=True,
        )
        last = [line for line in done.stderr.splitlines() if line.endswith("| boto3")][-1]
        samples.append(int(last.split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--sends", type=int, default=50)
    args = parser.parse_args()
    plain, durable = defer_cost_us(args.rounds, False), defer_cost_us(args.rounds, True)
    client_ms, send_ms, send_max_ms = handoff_ms(args.sends)
    print("| what | cost |\n|---|---:|")
    print(f"| `defer(fn, ...)` | {plain:.2f} µs |")
    print(f"| `defer(fn, ..., durable=True)`, nothing sent | {durable:.2f} µs |")
    print(f"| making the SQS client (once per process, on a thread) | {client_ms:.0f} ms |")
    print(f"| one hand-off, decision → SQS's answer (moto, loopback), median of {args.sends} |"
          f" {send_ms:.1f} ms (max {send_max_ms:.1f}) |")  # fmt: skip
    print(f"| `import boto3`, fresh interpreter, median of 5 | {boto3_import_ms():.0f} ms |")


if __name__ == "__main__":
    main()
