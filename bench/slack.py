"""Cold start of the example Slack app as deployed: the zip layout, with and without bytecode.

This is the number Slack's 3-second budget sees: from spawning `bootstrap` to the first
acknowledgement posted, with the app's real dependencies imported from `vendor/`. The layout is
build.sh's own zip for the benchmark's Python, unpacked as Lambda unpacks it; the variant without
bytecode is the same tree with its `__pycache__` folders removed. The signed slash-command event
is the one the demo sends (`lambda_ack.cli.local.slack_request`), so both exercise the same request.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
    dist = work / "dist"
    subprocess.run(
        [str(envs.ROOT / "build.sh"), "--python-version", _version(python)]
        + ["--compile-with", str(python), "--out", str(dist)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHON": sys.executable},
    )
    layouts = unpacked(dist / "function.zip", work)
    return sampled(layouts, HANDLER, "/start-process", python, server, runs, env)


def sampled(
    layouts: dict[str, Path],
    handler: str,
    command: str,
    python: Path,
    server: Server,
    runs: int,
    env: dict[str, str],
) -> dict[str, dict[str, dict[str, float]]]:
    """Cold starts of each layout, interleaved, a signed `command` as the first event."""
    sys.path.insert(0, str(envs.ROOT))
    from lambda_ack.cli.local import slack_request

    samples: dict[str, list[float]] = {key: [] for key in layouts}
    for _ in range(runs):
        for key, root in layouts.items():
            event = slack_request.slash_command_event(
                "bench", "http://127.0.0.1:9/unreachable", command=command
            )
            run_env = scenario.lambda_env(python, server.address, root, handler) | env
            run_env |= {
                "SLACK_SIGNING_SECRET": slack_request.SIGNING_SECRET,
                "SLACK_BOT_TOKEN": "xoxb-0-bench",
            }
            body = json.dumps(event).encode()
            samples[key].append(
                scenario.cold_start((str(root / "bootstrap"),), run_env, root, server, body)
            )
    return {key: {report.OURS: report.stats(values)} for key, values in samples.items()}


def unpacked(function_zip: Path, work: Path, prefix: str = "slack") -> dict[str, Path]:
    """The function zip's tree, unpacked as Lambda unpacks it in /var/task, with and without
    its bytecode."""
    sys.path.insert(0, str(envs.ROOT))
    from lambda_ack.cli.build.zips import unpack

    layouts = {}
    for key, bytecode in VARIANTS:
        name = key.replace("slack", prefix, 1)
        root = unpack(function_zip, work / name)
        if not bytecode:
            for cache in sorted(root.rglob("__pycache__")):
                shutil.rmtree(cache)
        layouts[name] = root
    return layouts


def _version(python: Path) -> str:
    sys.path.insert(0, str(envs.ROOT))
    from lambda_ack.cli.build.interpreter import version_of

    return version_of(str(python))
