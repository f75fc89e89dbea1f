"""A cold start with and without SnapStart: `.venv/bin/python bench/snapstart.py [--runs 7]`.

For a trivial handler (bench/task/bench_handler.py), the Slack example (handler_example/, a
signed `/start-process`; on awslambdaric its `defer` runs through `@runtime.deferrable`,
bench/task/slack_example_managed.py) and a Bolt app (bench/task/bolt_app.py, `/hello`
acknowledged at once), on this runtime and on awslambdaric 4.2.2 (the bench's venv), the time a
cold start's caller waits for the acknowledgement:
- **cold**: spawning the runtime → its first `/response`, the event waiting from the start (as
  on a cold start the event caused);
- **from a restore**: the runtime started with `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`
  initialises and waits in `/runtime/restore/next` (where Lambda takes the snapshot); the time
  from answering it, the event then waiting, → the first `/response`. A snapshot's restore
  itself (Lambda loading the memory, measured by AWS in hundreds of milliseconds at most) is
  not part of it: it is the same for every runtime.
Runs interleaved (each runtime and way in turn), medians with min–max. The Bolt app's libraries
come from this checkout's `.venv`, on `PYTHONPATH` for both runtimes; a loopback stand-in answers
the `auth.test` Bolt asks Slack at its first request.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envs  # noqa: E402
import report  # noqa: E402
import scenario  # noqa: E402
from server import Server  # noqa: E402

APPS = {
    # app: (this runtime's handler, awslambdaric's, the signed slash command sent, if any)
    "trivial handler": ("bench_handler.handler", "bench_handler.handler", None),
    "Slack example": (
        "handler_example.app.handler",
        "slack_example_managed.handler",
        "/start-process",
    ),
    "Bolt app": ("bolt_on_lambda_ack.handler", "bolt_on_bolts_adapter.handler", "/hello"),
}


def event(command: str | None) -> bytes:
    if command is None:
        return scenario.SMALL_EVENT
    sys.path.insert(0, str(envs.ROOT))
    from lambda_ack.cli.local import slack_request

    return json.dumps(
        slack_request.slash_command_event("bench", "http://127.0.0.1:9/", command=command)
    ).encode()


def once(argv, env, task_root: Path, server: Server, body: bytes, restore: bool) -> float:
    """Milliseconds the caller waits, cold or from a restore."""
    if not restore:
        return scenario.cold_start(argv, env, task_root, server, body)
    try:
        with scenario.Spawned(
            argv, env | {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}, task_root
        ) as spawned:
            server.wait_restore(spawned.proc)
            return server.restore(spawned.proc, body) / 1e6
    finally:
        server.forget()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args(argv)
    python = envs.bench_python()
    from lambda_ack.cli.local import slack_request
    from lambda_ack.cli.local.loopback import LoopbackServer

    libraries = sysconfig.get_paths()["purelib"]  # slack_bolt, slack_sdk: this checkout's .venv
    server, slack_api = Server(), LoopbackServer()
    samples: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-snapstart-") as tmp:
        task_root = envs.stage_runtime(Path(tmp))
        example = task_root / "handler_example"
        shutil.copytree(envs.ROOT / "handler_example", example, ignore=envs.NO_CACHE)
        envs.precompile(example)
        ours = scenario.lambda_ack(task_root.parent)
        theirs = scenario.awslambdaric(task_root, python)
        for _ in range(args.runs):
            for app, (our_handler, their_handler, command) in APPS.items():
                body = event(command)
                for runtime, handler in ((ours, our_handler), (theirs, their_handler)):
                    argv = runtime.argv[:-1] + (handler,) if runtime is theirs else runtime.argv
                    env = scenario.lambda_env(python, server.address, task_root, handler)
                    # awslambdaric finds the runtime's packages (`@runtime.deferrable`) there.
                    runtime_packages = "" if runtime is ours else f":{task_root.parent}"
                    env |= {
                        "PYTHONPATH": libraries + runtime_packages,
                        "SLACK_SIGNING_SECRET": slack_request.SIGNING_SECRET,
                        "SLACK_API_URL": slack_api.url + "/",
                    }
                    for way, restore in (("cold", False), ("from a restore", True)):
                        ms = once(argv, env, task_root, server, body, restore)
                        samples.setdefault((app, runtime.name, way), []).append(ms)
    server.close()
    slack_api.close()
    print("| app | runtime | cold start (ms) | from a restore (ms) |")
    print("|---|---|---:|---:|")
    for app in APPS:
        for name in ("lambda-ack", "awslambdaric"):
            ways = ("cold", "from a restore")
            cells = [report.cell(report.stats(samples[(app, name, way)])) for way in ways]
            print(f"| {app} | {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
