"""The mistakes a new user makes with `lambda-ack`, each answered by an exit status of 1 and an
error whose last line says what to do (`python -m lambda_ack.cli`: the command, run from the
checkout; test_package runs the installed one)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lambda_ack(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "lambda_ack.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
    )


def refused(done: subprocess.CompletedProcess, command: str, *phrases: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert done.stderr.startswith(f"lambda-ack {command}: error: "), done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr
    return last


@pytest.fixture
def project(tmp_path) -> Path:
    made = lambda_ack("new", str(tmp_path / "bot"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return tmp_path / "bot"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", [["build"], ["emulate"], ["rie"]])
def test_no_project_found(tmp_path, command):
    last = refused(lambda_ack(*command, cwd=tmp_path), command[0], "no lambda-ack project in")
    assert "run `lambda-ack new DIR` to make one" in last


@pytest.mark.parametrize(
    ("handler", "phrase"),
    [
        ("app.nothere", "app.py defines no `nothere`"),
        ("missing.handler", "there is no missing.py in"),
        ("nodot", "is not module.function"),
    ],
)
def test_a_handler_that_does_not_exist(project, handler, phrase):
    settings = project / "pyproject.toml"
    settings.write_text(
        settings.read_text().replace('handler = "app.handler"', f'handler = "{handler}"')
    )
    last = refused(lambda_ack("build", "--no-layer", cwd=project), "build", phrase)
    assert "set [tool.lambda-ack] handler in pyproject.toml to module.function" in last


def test_requirements_without_hashes(project):
    (project / "requirements.txt").write_text("slack_sdk==3.47.0\n")
    last = refused(
        lambda_ack("build", "--no-layer", cwd=project), "build", "without a hash (line 1)"
    )
    assert "pip-compile --generate-hashes -o requirements.txt requirements.in" in last


@pytest.mark.parametrize(
    ("option", "value", "phrase"),
    [
        ("--python-version", "3.9", "use one of 3.11, 3.12, 3.13, 3.14"),
        ("--arch", "i386", "use x86_64 or arm64"),
    ],
)
def test_an_unknown_python_version_or_architecture(project, option, value, phrase):
    last = refused(lambda_ack("build", option, value, cwd=project), "build", phrase)
    assert phrase in last


def test_a_download_that_fails_says_how_to_build_without_internet(project, closed_port, tmp_path):
    table = tmp_path / "table.json"
    url = f"http://127.0.0.1:{closed_port}/cpython.tar.gz"
    table.write_text(f'{{"3.12": {{"x86_64": {{"url": "{url}", "sha256": "{"a" * 64}"}}}}}}')
    env = {"LAMBDA_ACK_PYTHON_TABLE": str(table), "LAMBDA_ACK_CACHE": str(tmp_path / "cache")}
    last = refused(lambda_ack("build", cwd=project, env=env), "build", f"cannot download {url}")
    assert "Without internet, pass the archive as a file: --python-archive PATH" in last


def test_an_archive_that_does_not_match_its_sha256(project, tmp_path):
    archive = tmp_path / "cpython.tar.gz"
    archive.write_bytes(b"not what the table promised")
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    done = lambda_ack(
        "build", "--python-archive", str(archive), "--python-sha256", "b" * 64, cwd=project
    )
    last = refused(done, "build", f"has sha256 {actual}, not the expected {'b' * 64}")
    assert "refusing to ship it" in last and "--python-archive" in last


def test_no_internet_for_the_dependencies(project, closed_port):
    offline = {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": f"http://127.0.0.1:{closed_port}/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }
    done = lambda_ack("build", "--no-layer", cwd=project, env=offline)
    last = refused(done, "build", "pip could not install the dependencies")
    assert "Is PyPI (or your configured index) reachable?" in last


def test_new_into_a_folder_that_has_files(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    last = refused(
        lambda_ack("new", str(tmp_path / "taken"), cwd=tmp_path), "new", "is not an empty folder"
    )
    assert last.endswith("give a new one")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
