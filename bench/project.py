"""What `lambda-ack new` gives a user, as deployed: `.venv/bin/python bench/project.py [--runs 10]`.

For the SlackApp project and the Bolt one (`lambda-ack new`, then `lambda-ack build` for the
benchmark's Python, with its bytecode): the function zip's size, and the cold start as
`bench/slack.py` measures the repository's example (from spawning `bootstrap` to the first
acknowledgement posted, a signed `/hello` as the first event; the zip unpacked as Lambda unpacks
it, with and without bytecode; Slack's Web API, which Bolt asks `auth.test` on its first request,
on loopback). With `--python-archive PATH --python-sha256 HEX`, the interpreter layer built from
that archive and its size too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import envs
import report
import slack
from server import Server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--python-archive")
    parser.add_argument("--python-sha256")
    args = parser.parse_args()
    python = envs.bench_python()
    version = slack._version(python)
    env = {**os.environ, "PYTHONPATH": str(envs.ROOT)}
    sys.path.insert(0, str(envs.ROOT))
    from lambda_ack.cli.local.loopback import LoopbackServer

    server = Server()
    rows = []
    # Bolt asks Slack's auth.test on its first request: a loopback Web API answers it here.
    with tempfile.TemporaryDirectory(prefix="lambda-ack-project-") as tmp, LoopbackServer() as api:
        work = Path(tmp)
        for kind in ("slack", "bolt"):
            project = work / kind / "bot"
            command = [sys.executable, "-m", "lambda_ack.cli"]
            new = [*command, "new", str(project)] + (["--bolt"] if kind == "bolt" else [])
            subprocess.run(new, check=True, env=env, stdout=subprocess.DEVNULL)
            build = [*command, "build", "--python-version", version, "--compile-with", str(python)]
            if args.python_archive:
                build += ["--python-archive", args.python_archive]
                build += ["--python-sha256", args.python_sha256]
            else:
                build += ["--no-layer"]
            subprocess.run(build, check=True, cwd=project, env=env, stdout=subprocess.DEVNULL)
            dist = project / "dist"
            for name in ("function.zip", "python-layer.zip"):
                if (dist / name).exists():
                    rows.append((f"{kind}: {name}", _sizes(dist / name)))
            layouts = slack.unpacked(dist / "function.zip", work / kind, prefix=kind)
            web_api = {"SLACK_API_URL": f"{api.url}/api/"}
            cold = slack.sampled(
                layouts, "app.handler", "/hello", python, server, args.runs, web_api
            )
            for key, stats in cold.items():
                what = f"{kind}: cold start, {key.split('_')[-1]} (ms)"
                rows.append((what, report.cell(stats[report.OURS])))
    server.close()
    print(f"machine: {report.machine()}; Python {version} ({python}); {args.runs} runs\n")
    print("| what | figure |\n|---|---:|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")
    return 0


def _sizes(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return f"{path.stat().st_size / 2**20:.1f} MB zipped, {unzipped / 2**20:.1f} MB unzipped"


if __name__ == "__main__":
    sys.exit(main())
