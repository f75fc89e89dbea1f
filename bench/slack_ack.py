"""When Slack gets its answer from a listener that acknowledges first and then works, and when
the ack guard answers for one that does not: `.venv/bin/python bench/slack_ack.py [--runs 10]`.

Each case runs on `lambda_ack.cli.local.emulator` (which returns the answer when the runtime
posts it, as Lambda does), warm unless said otherwise, with the listeners of the end-to-end tests
(`tests/bolt_handlers/ops_restart.py`, `tests/slack_handlers/slack_acks.py`). Their work calls a
loopback status service that answers after `--work-s` (1 s; 4 s in the guard's cases, which
need work that outlasts its 2.5 s). The figure is the emulator's: the
event handed to the runtime → the answer back to the caller, median (min–max) over the runs;
Bolt's own Lambda adapter answers only when the listener is done, so it is measured too.
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path[:0] = [str(ROOT), str(TESTS), str(ROOT / "bench")]

import report  # noqa: E402
from slack_support import FORM, command_body, signed_event  # noqa: E402

from lambda_ack.cli.local.emulator import Emulator  # noqa: E402
from lambda_ack.cli.local.loopback import LoopbackServer  # noqa: E402
from lambda_ack.cli.local.slack_request import SIGNING_SECRET  # noqa: E402

CASES = (
    # (label, handler, task root, command, cold start)
    ("Bolt, the article's listener: ack() then work", "ops_restart.handler", "bolt_handlers",
     "/ops-restart", False),
    ("Bolt's own adapter, same listener", "article_on_bolts_adapter.handler", "bolt_handlers",
     "/ops-restart", False),
    ("SlackApp: runtime.ack() then work", "slack_acks.handler", "slack_handlers", "/ops-restart",
     False),
    ("SlackApp: work first, the guard answers", "slack_acks.handler", "slack_handlers",
     "/slow-ack", False),
    ("SlackApp, cold start with a 2 s import: the guard", "slow_import.handler", "slack_handlers",
     "/slow-ack", True),
)  # fmt: skip


def measure(handler: str, task_root: Path, command: str, cold: bool, runs: int, work_s: float):
    samples = []
    with LoopbackServer() as slack:
        env = {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-bench-not-a-real-one",
            "SLACK_API_URL": f"{slack.url}/api/",
            "STATUS_URL": f"{slack.url}/status",
        }
        for _ in range(runs if cold else 1):
            with Emulator(handler, task_root, env=env, function_timeout_s=30) as function:
                if not cold:
                    function.invoke({"warm": "up"})
                for _ in range(1 if cold else runs):
                    name = uuid.uuid4().hex[:8]
                    slack.hold(f"/status/{name}")
                    threading.Timer(work_s, slack.release, (f"/status/{name}",)).start()
                    body = command_body(name, f"{slack.url}/commands/{name}", command)
                    function.invoke(signed_event(body, FORM), timeout=60)
                    function.wait_idle(60)
                    timeline = function.timelines[-1]
                    samples.append(
                        timeline.ack_ms if cold else timeline.ack_ms - timeline.queued_ms
                    )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work-s", type=float, default=1.0)
    args = parser.parse_args()
    print("| case | answer after (ms) |\n|---|---:|")
    for label, handler, folder, command, cold in CASES:
        work_s = max(args.work_s, 4.0) if command == "/slow-ack" else args.work_s
        ms = measure(handler, TESTS / folder, command, cold, args.runs, work_s)
        what = "from the invoke (process start)" if cold else "from the event"
        print(f"| {label} | {report.cell(report.stats(ms))}, {what}, {len(ms)} runs |")


if __name__ == "__main__":
    main()
