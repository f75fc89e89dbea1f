"""What the shared duplicate guard costs: `.venv/bin/python bench/dedupe.py [--claims 500]`.

In process, against moto's standalone server on loopback (a real DynamoDB in the function's
region is a few milliseconds further): the time one claim adds to an acknowledgement (a new key:
the conditional `PutItem` that wins; a retry's key: the one that is refused), median and p99;
the first claim of a fresh process (its connection made, `http.client` imported), which is what
a cold start's first request pays; and the cost of the Slack layer's import and `SlackApp()` with
and without `LAMBDA_RUNTIME_DEDUPE_TABLE`, in a fresh interpreter each; and, for comparison, what
the same first claim costs through boto3 (which the guard does not use).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envs import stage_runtime  # noqa: E402
from moto_loopback import moto_on_loopback  # noqa: E402


def claim_ms(claims: int) -> dict[str, float]:
    import boto3

    from lambda_ack.dedupe.table import TableSeenRequests

    with moto_on_loopback():
        boto3.client("dynamodb").create_table(
            TableName="bench-dedupe",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        store = TableSeenRequests("bench-dedupe")
        staged = stage_runtime(Path(tempfile.mkdtemp(prefix="bench-dedupe-"))).parent
        new, again = [], []
        for _ in range(claims):
            key = uuid.uuid4().hex
            started = time.perf_counter()
            assert store.claim(key)
            new.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assert not store.claim(key)
            again.append((time.perf_counter() - started) * 1000)
        return {
            "new": new,
            "again": again,
            "start": (start_ms(False, staged), start_ms(True, staged)),
            "boto3": boto3_first_claim_ms(),
        }


def start_ms(configured: bool, runtime_dir: Path, runs: int = 7) -> tuple[float, float]:
    """In a fresh interpreter, milliseconds: `from runtime.slack import SlackApp; SlackApp()`,
    and, with the table, the process's first claim (0 without). The runtime from `runtime_dir`,
    with bytecode as a zip has it."""
    env = {**os.environ, "PYTHONPATH": str(runtime_dir), "SLACK_SIGNING_SECRET": "bench-secret"}
    env.pop("LAMBDA_RUNTIME_DEDUPE_TABLE", None)
    if configured:
        env["LAMBDA_RUNTIME_DEDUPE_TABLE"] = "bench-dedupe"
    code = (
        "import time, uuid; t = time.perf_counter(); from runtime.slack import SlackApp; "
        "SlackApp(); made = time.perf_counter(); from lambda_ack.dedupe import table_store; "
        "store = table_store(); configured = store is not None; "
        "configured and store.claim(uuid.uuid4().hex); "
        "print((made - t) * 1000, (time.perf_counter() - made) * 1000 if configured else 0)"
    )
    samples = [
        tuple(map(float, subprocess.run([sys.executable, "-P", "-c", code], env=env,
                                        capture_output=True, text=True, check=True).stdout.split()))
        for _ in range(runs)
    ]  # fmt: skip
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def boto3_first_claim_ms(runs: int = 7) -> float:
    """The alternative the guard does not take, in a fresh interpreter each: `import boto3`, a
    DynamoDB client, and the same first conditional `PutItem`."""
    code = (
        "import time, uuid; t = time.perf_counter(); import boto3; "
        "boto3.client('dynamodb').put_item(TableName='bench-dedupe', "
        "Item={'key': {'S': uuid.uuid4().hex}}, ConditionExpression='attribute_not_exists(#k)', "
        "ExpressionAttributeNames={'#k': 'key'}); print((time.perf_counter() - t) * 1000)"
    )
    return statistics.median(
        float(subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(runs)
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=500)
    args = parser.parse_args()
    figures = claim_ms(args.claims)

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98]

    print("| what | cost |\n|---|---:|")
    for key, what in (("new", "a claim that wins (new key)"), ("again", "a claim refused (retry)")):
        values = figures[key]
        print(f"| {what}, median / p99 of {len(values)} | "
              f"{statistics.median(values):.2f} / {p99(values):.2f} ms |")  # fmt: skip
    (without, _), (with_table, first) = figures["start"]
    print(f"| `import runtime.slack` + `SlackApp()`, no table | {without:.1f} ms |")
    print(f"| the same with `LAMBDA_RUNTIME_DEDUPE_TABLE` | {with_table:.1f} ms |")
    print(f"| a fresh process's first claim (connection made) | {first:.1f} ms |")
    print(f"| with boto3 instead: import, client, first `PutItem` | {figures['boto3']:.1f} ms |")


if __name__ == "__main__":
    main()
