"""Cold start of the example Slack app as deployed: the zip layout, with and without bytecode.

This is the number Slack's 3-second budget sees: from spawning `bootstrap` to the first
acknowledgement posted, with the app's real dependencies imported from `vendor/`. The layout is
assembled here as build.sh's zip lays it out (bootstrap, runtime/, handler_example/, vendor/ from
`pip install --target`); build.sh did not exist yet when this was written. The signed slash-command
event is the one `devtools.demo` sends, so both tools exercise the same request.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import envs
import report
import scenario
from server import Server

APP = envs.ROOT / "handler_example" / "app.py"
HANDLER = "handler_example/app.handler"
VARIANTS = (("slack_cold_ms_source", False), ("slack_cold_ms_bytecode", True))


def cold_starts(
    python: Path, server: Server, work: Path, runs: int, env: dict[str, str]
) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> {lambda-ack: stats}, or {} when the repository has no Slack app yet."""
    if not APP.exists() or runs < 1:
        print(f"bench: {APP.relative_to(envs.ROOT)} not found; Slack cold start skipped")
        return {}
    sys.path.insert(0, str(envs.ROOT))
    from devtools import demo

    layouts = {key: build_layout(work / key, python, bytecode) for key, bytecode in VARIANTS}
    samples: dict[str, list[float]] = {key: [] for key in layouts}
    for _ in range(runs):
        for key, root in layouts.items():
            event = demo.slash_command_event("bench", "http://127.0.0.1:9/unreachable")
            run_env = scenario.lambda_env(python, server.address, root, HANDLER) | env
            run_env |= {
                "SLACK_SIGNING_SECRET": demo.SIGNING_SECRET,
                "SLACK_BOT_TOKEN": "xoxb-0-bench",
            }
            body = json.dumps(event).encode()
            samples[key].append(
                scenario.cold_start((str(root / "bootstrap"),), run_env, root, server, body)
            )
    return {key: {report.OURS: report.stats(values)} for key, values in samples.items()}


def build_layout(into: Path, python: Path, bytecode: bool) -> Path:
    """The function zip's tree, unpacked: what Lambda puts in /var/task."""
    envs.stage_runtime(into, bytecode=False)
    shutil.rmtree(into / "task")
    shutil.copytree(
        APP.parent, into / "handler_example", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(vendor(python), into / "vendor")
    if bytecode:
        envs.precompile(into)
    return into


def vendor(python: Path) -> Path:
    """requirements.txt installed once into `.cache/bench-vendor`, without bytecode."""
    target = envs.CACHE / "bench-vendor"
    wanted = (envs.ROOT / "requirements.txt").read_text()
    stamp = target / ".requirements"
    if not (stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(target, ignore_errors=True)
        envs.pip(
            python,
            "--no-compile",
            "--target",
            str(target),
            "-r",
            str(envs.ROOT / "requirements.txt"),
        )
        stamp.write_text(wanted)
    return target
