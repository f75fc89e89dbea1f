"""What `lambda-ack new` writes, beyond the Slack app test_package runs end to end: the Bolt app's
own tests pass as generated; its SAM template is cfn-lint clean; its Dockerfile passes hadolint
and, laid out as its COPY lines say from what `lambda-ack build --image` wrote, serves a signed
slash command under the real RIE with nothing importable but the image's files. And the "any
Python image" recipe (examples/python-image): `pip install lambda-ack`, `python3 -m lambda_ack`
as the entrypoint, replayed the same way. No Docker engine here: the base images themselves and
`docker build` stay unverified."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_check import commands, handler_of, materialize, parse
from standin_python import target_python
from test_dockerfile import hadolint
from test_template import assert_dedupe_opt_in, cfn_lint, load

from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE
from lambda_ack.cli.local.slack_request import slash_command_event

ROOT = Path(__file__).resolve().parent.parent
SECRET = "new-project-signing-secret"


def lambda_ack(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "lambda_ack.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module", params=["slack", "bolt"])
def project(request, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp(request.param)
    lambda_ack("new", str(base / "bot"), *(["--bolt"] if request.param == "bolt" else []), cwd=base)
    return base / "bot"


def test_the_generated_tests_pass(project):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout + done.stderr


def test_the_sam_template_is_cfn_lint_clean(project, tmp_path):
    linted = cfn_lint(tmp_path, project / "template.yaml")
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


def test_the_sam_template_has_the_duplicate_guards_opt_in(project):
    assert_dedupe_opt_in(load(project / "template.yaml"))


def test_the_dockerfile_is_hadolint_clean(project, tmp_path):
    linted = hadolint(project / "Dockerfile", tmp_path)
    assert (linted.returncode, linted.stdout) == (0, "")


def _stand_in_python(folder: Path, python: str, site: Path | None = None) -> Path:
    """The image's interpreter: this machine's, with no site-packages of its own (-S -s)."""
    script = folder / "python3"
    path = f'PYTHONPATH="{site}" ' if site else ""
    script.write_text(f'#!/bin/sh\n{path}exec "{python}" -s -S "$@"\n')
    script.chmod(0o755)
    return script


def _serves_hello(task: Path, env: dict, **rie) -> None:
    with LoopbackServer() as slack:
        env = {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": f"{slack.url}/api/",
        } | env
        with RIE("app.handler", task, env=env, **rie) as function:
            event = slash_command_event("img", f"{slack.url}/c/1", SECRET, "/hello")
            answer = function.invoke(event).json()
            follow_up = slack.wait_for("/c/1", timeout=10).json()
            output = function.output
    assert answer["statusCode"] == 200 and "Working on it: img" in answer["body"], output
    assert follow_up["text"] == "Done: img"


def test_the_image_layout_serves_a_slash_command_under_rie(project, tmp_path):
    version, python = target_python()
    lambda_ack(
        "build", "--image", "--python-version", version, "--compile-with", python, cwd=project
    )
    dockerfile = parse((project / "Dockerfile").read_text())
    for run in dockerfile.stages[-1].all("RUN"):  # dnf's interpreter stands in as this machine's
        assert all(command[0] in ("dnf", "rm") for command in commands(run)), run
    layout = materialize(dockerfile, project, tmp_path / "image")
    assert layout.problems == []
    image = layout.final
    assert handler_of(dockerfile) == ["app.handler"]
    pyc = next((image / "var/task/__pycache__").glob("app.*.pyc")).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked (PEP 552)
    env = {"LAMBDA_RUNTIME_PYTHON": str(_stand_in_python(tmp_path, python)), "PYTHONPATH": None}
    _serves_hello(image / "var/task", env, bootstrap=image / "var/runtime/bootstrap")


def test_any_python_image_runs_python_m_lambda_ack(tmp_path):
    """examples/python-image: its `pip install lambda-ack==<version>` replayed with the wheel built
    here into the image's site-packages, then its ENTRYPOINT and CMD under RIE."""
    example = ROOT / "examples" / "python-image"
    linted = hadolint(example / "Dockerfile", tmp_path)
    assert (linted.returncode, linted.stdout) == (0, "")
    dockerfile = parse((example / "Dockerfile").read_text())
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "-o", str(wheels)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    site = tmp_path / "site-packages"

    def replay(stage, run, cwd: Path) -> None:
        for command in commands(run):
            assert command[:2] == ["pip", "install"], command
            requirement = command[-1]
            from lambda_ack import __version__

            assert requirement == f"lambda-ack=={__version__}"
            pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site)]
            subprocess.run([*pip, "--find-links", str(wheels), requirement], check=True)

    image = materialize(dockerfile, example, tmp_path / "image", run=replay).final
    entrypoint = [w for w in dockerfile.stages[-1].all("ENTRYPOINT")][0].args
    assert entrypoint == '["python3", "-m", "lambda_ack"]'
    version, python = target_python()
    stand_in = _stand_in_python(tmp_path, python, site)
    with RIE(
        "app.handler",
        image / "var/task",
        env={"PYTHONPATH": None, "LAMBDA_TASK_ROOT": str(image / "var/task")},
        bootstrap=[str(stand_in), "-m", "lambda_ack"],
    ) as function:
        answer = function.invoke({"ping": 1}).json()
        output = function.wait_output("after the answer to")
    assert answer["served_by"] == "lambda-ack" and answer["event"] == {"ping": 1}
    assert "invocation done" in output
