"""The package as a user gets it: a wheel built here, installed in a fresh venv outside the checkout
(nothing of the checkout on its `sys.path`), `lambda-ack new`, the generated project's own tests,
`lambda-ack build`, and the zips unpacked where Lambda puts them serving a signed slash command
under the real RIE with nothing importable but their files; then the same venv's
`python -m lambda_ack` as RIE's bootstrap (the "any Python image" way), and `emulate --reload`.

GitHub is out of reach here, so the interpreter archive is a stand-in (tests/standin_python.py)
served by a loopback HTTP server through the table override `LAMBDA_ACK_PYTHON_TABLE`: the
download, the cache and the sha256 check are the real ones.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import terraform_support
from standin_python import stand_in_archive, target_python

from lambda_ack import __version__
from lambda_ack.cli.build.zips import unpack
from lambda_ack.cli.local.invoke import invoke, wait_for_endpoint
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE
from lambda_ack.cli.local.slack_request import slash_command_event

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "package-test-signing-secret"


def run(command, cwd: Path, env: dict[str, str], timeout: float = 300, check: bool = True):
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "-o", str(out)],
        ROOT,
        os.environ.copy(),
    )
    assert "Successfully built" in built.stdout
    return out


@pytest.fixture(scope="module")
def user(tmp_path_factory, dist) -> dict:
    """A fresh venv with the wheel, made and used away from the checkout, and the environment
    a user's shell would give it: no PYTHONPATH, its own HOME and cache."""
    home = tmp_path_factory.mktemp("home")
    venv = home / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", str(venv)], home, os.environ.copy())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAMBDA_", "AWS_"))}
    env |= {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(home),
        "LAMBDA_ACK_CACHE": str(home / "cache"),
        "VIRTUAL_ENV": str(venv),
    }
    (wheel,) = dist.glob("*.whl")
    run([venv / "bin/pip", "install", "--quiet", str(wheel)], home, env)
    return {"home": home, "venv": venv, "env": env, "python": venv / "bin/python"}


def test_the_metadata_and_the_wheel_pass_the_ecosystems_checks(dist):
    checked = run([BIN / "twine", "check", "--strict", *map(str, dist.iterdir())], dist, {})
    assert checked.stdout.count("PASSED") == 2
    (wheel,) = dist.glob("*.whl")
    config = ["--config", str(ROOT / "pyproject.toml")]
    assert run([BIN / "check-wheel-contents", *config, str(wheel)], dist, {}).stdout.endswith(
        "OK\n"
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"lambda_ack-{__version__}.dist-info/METADATA").decode()
    tops = {name.split("/")[0] for name in names if not name.startswith("lambda_ack-")}
    assert tops == {"lambda_ack", "runtime"}  # no tests, bench, devtools, handler_example
    assert "lambda_ack/cli/bootstrap" in names and "lambda_ack/py.typed" in names
    # The Terraform module, every file of it and nothing else (no .terraform/ of anyone's).
    module = {n.removeprefix("lambda_ack/cli/terraform/") for n in names if "cli/terraform/" in n}
    assert module == {p.name for p in (ROOT / "terraform").glob("*.tf")} | {"README.md"}
    assert f"Version: {__version__}" in metadata and "Requires-Python: >=3.11" in metadata
    assert "License-Expression: MIT" in metadata
    # Ranges, never pins: the pins are the locks' business.
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, re.M)
    specifiers = [r.split(";")[0] for r in requires]
    assert specifiers and all("==" not in r and "<" in r for r in specifiers), requires


def test_the_installed_package_is_the_wheels_and_says_its_version(user):
    where = run(
        [user["python"], "-c", "import lambda_ack, runtime, sys; print(lambda_ack.__file__); "
         "print(runtime.__file__); print(sys.path)"],
        user["home"], user["env"],
    ).stdout.splitlines()  # fmt: skip
    site = str(user["venv"])
    assert where[0].startswith(site) and where[1].startswith(site)
    assert str(ROOT) not in where[2]
    said = run([user["venv"] / "bin/lambda-ack", "--version"], user["home"], user["env"])
    assert said.stdout.strip() == f"lambda-ack {__version__}"


@pytest.fixture(scope="module")
def project(user, dist) -> Path:
    """`lambda-ack new` in a folder of the user's, its dependencies installed as its README says
    (lambda-ack itself from the wheel built here: it is not on PyPI)."""
    folder = user["home"] / "my-bot"
    made = run([user["venv"] / "bin/lambda-ack", "new", str(folder)], user["home"], user["env"])
    assert "pip install -r requirements.txt && pip install -r requirements-dev.txt" in made.stdout
    pip = [user["venv"] / "bin/pip", "install", "--quiet"]
    run([*pip, "-r", "requirements.txt"], folder, user["env"])
    run([*pip, "--find-links", str(dist), "-r", "requirements-dev.txt"], folder, user["env"])
    return folder


def test_the_generated_projects_terraform_is_the_wheels_module_and_validates(project, tmp_path):
    """Its module is the wheel's copy of terraform/; `terraform init` (the provider from the
    local mirror) and `validate` accept the project's configuration as generated."""
    if (what := terraform_support.missing()) is not None:
        pytest.fail(what, False)
    folder = project / "terraform"
    module = {p.name: p.read_text() for p in (folder / "lambda-ack").iterdir()}
    assert module == {p.name: p.read_text() for p in (ROOT / "terraform").glob("*.tf")} | {
        "README.md": (ROOT / "terraform" / "README.md").read_text()
    }
    copy = shutil.copytree(folder, tmp_path / "terraform")  # .terraform/ stays out of the project
    (tmp_path / "dist").mkdir()
    tf = terraform_support.Terraform(tmp_path)
    tf("init", "-input=false", "-backend=false", cwd=copy)
    assert "The configuration is valid." in tf("validate", cwd=copy).stdout
    tf("fmt", "-check", "-recursive", str(copy), cwd=copy)


def test_the_generated_projects_tests_pass_as_generated(user, project):
    done = run(
        [user["python"], "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, user["env"]
    )
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def interpreter_table(tmp_path_factory) -> tuple[Path, str]:
    """The table override and the version it serves: one stand-in archive on loopback."""
    folder = tmp_path_factory.mktemp("mirror")
    version, python = target_python()
    archive = stand_in_archive(python, version, folder / "cpython-install_only_stripped.tar.gz")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Files, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{archive.name}"
    row = {"url": url, "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    table = folder / "table.json"
    table.write_text(json.dumps({version: {"x86_64": row}}))
    yield table, version
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def built(user, project, interpreter_table) -> Path:
    table, version = interpreter_table
    env = user["env"] | {"LAMBDA_ACK_PYTHON_TABLE": str(table)}
    lambda_ack = user["venv"] / "bin/lambda-ack"
    done = run([lambda_ack, "build", "--python-version", version], project, env)
    assert "downloading http://127.0.0.1:" in done.stdout
    again = run([lambda_ack, "build", "--python-version", version], project, env)
    assert "downloading" not in again.stdout  # the per-user cache has it
    assert (user["home"] / "cache" / "python").is_dir()
    return project / "dist"


def _slash_command_under_rie(task: Path, env: dict, **rie) -> tuple[dict, dict, str]:
    env = {"SLACK_SIGNING_SECRET": SECRET} | env
    with LoopbackServer() as slack, RIE("app.handler", task, env=env, **rie) as function:
        result = function.invoke(slash_command_event("hi", f"{slack.url}/c/1", SECRET, "/hello"))
        follow_up = slack.wait_for("/c/1", timeout=10).json()
        output = function.output
    assert result.status == 200 and not result.function_error, output
    return result.json(), follow_up, output


def test_the_built_zips_serve_a_slash_command_under_rie_with_nothing_else(built, tmp_path):
    """Unpacked where Lambda puts them (a private mount namespace binds the layer on /opt for
    this process tree only), with an empty PATH, no HOME, no LAMBDA_RUNTIME_PYTHON: `bootstrap`
    can only start /opt/python/bin/python3, and what runs is the zip and the layer."""
    task = unpack(built / "function.zip", tmp_path / "task")
    opt = unpack(built / "python-layer.zip", tmp_path / "opt")
    names = {p.relative_to(task).as_posix() for p in task.rglob("*")}
    assert {"app.py", "bootstrap", "vendor/lambda_ack/loop.py", "vendor/slack_sdk"} <= names
    assert not [n for n in names if n.startswith(("tests", "vendor/lambda_ack/cli"))]
    empty = tmp_path / "empty"
    empty.mkdir()
    unshare, sh, mount = (shutil.which(tool) or tool for tool in ("unshare", "sh", "mount"))
    bind = f'{mount} --bind "$0" /opt && exec "$@"'
    wrapper = (unshare, "--mount", "--propagation", "private", sh, "-c", bind, str(opt))
    env = {"PATH": str(empty), "HOME": str(empty), "PYTHONPATH": None}
    env["LAMBDA_RUNTIME_PYTHON"] = None
    answer, follow_up, output = _slash_command_under_rie(
        task, env, bootstrap=task / "bootstrap", wrapper=wrapper
    )
    assert answer["statusCode"] == 200 and "Working on it: hi" in answer["body"], output
    assert follow_up["text"] == "Done: hi"


def test_python_m_lambda_ack_from_the_venv_is_rie_s_bootstrap(user, project):
    """The "any Python image" way: `python -m lambda_ack` as the entrypoint, the code in the
    task root, the runtime and its dependencies from the venv's site-packages."""
    env = {"PYTHONPATH": None, "LAMBDA_RUNTIME_PYTHON": None}
    answer, follow_up, _ = _slash_command_under_rie(
        project, env, bootstrap=[str(user["python"]), "-m", "lambda_ack"]
    )
    assert "Working on it: hi" in answer["body"] and follow_up["text"] == "Done: hi"


def test_emulate_reload_serves_an_edited_handler_on_the_next_invoke(user, project):
    env = user["env"] | {"SLACK_SIGNING_SECRET": SECRET}
    command = [user["venv"] / "bin/lambda-ack", "emulate", "--reload", "--port", "0"]
    proc = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    said = threading.Condition()

    def read(stream) -> None:
        for line in stream:
            with said:
                lines.append(line)
                said.notify_all()

    for stream in (proc.stdout, proc.stderr):
        threading.Thread(target=read, args=(stream,), daemon=True).start()

    def wait_for(pattern: str) -> re.Match:
        with said:
            assert said.wait_for(lambda: any(re.search(pattern, x) for x in lines), 30), lines
            return next(m for x in lines if (m := re.search(pattern, x)))

    app = project / "app.py"
    original = app.read_text()
    try:
        address = wait_for(r"http://(127\.0\.0\.1:\d+)/")[1]
        wait_for("reloading on changes under")
        assert wait_for_endpoint(address, 10)
        with LoopbackServer() as slack:
            event = lambda: slash_command_event("hi", f"{slack.url}/r", SECRET, "/hello")  # noqa: E731
            first = invoke(address, event()).json()
            app.write_text(original.replace("Working on it:", "On it now:"))
            wait_for("app.py changed: the next invoke starts the function afresh")
            second = invoke(address, event()).json()
    finally:
        app.write_text(original)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert "Working on it: hi" in first["body"]
    assert "On it now: hi" in second["body"]
