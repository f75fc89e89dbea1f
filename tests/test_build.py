"""build.sh: the zip's layout, modes and reproducibility, its errors, and the zip run on its own.

The interpreter archive is a stand-in made from this machine's own CPython (tests/standin_python.py
says why that is honest). The target Python is 3.12 (the deployed one) when this machine has a
3.12, else the running interpreter's version.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from rie_slash import slash_command_on_rie
from standin_python import LEFT_OUT, stand_in_archive, target_python

from lambda_ack.cli.build.zips import unpack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def target() -> tuple[str, str]:
    """(version, interpreter): the deployed 3.12 where this machine has one."""
    return target_python()


@pytest.fixture(scope="module")
def archive(tmp_path_factory, target) -> tuple[Path, str]:
    version, python = target
    path = stand_in_archive(python, version, tmp_path_factory.mktemp("archive") / "cpython.tar.gz")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "build.sh"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable, **(env or {})},
        cwd=ROOT,
    )


def build_complete(
    target: tuple[str, str], archive: Path, sha256: str, out: Path
) -> subprocess.CompletedProcess[str]:
    """The function zip and the layer, for the target's Python."""
    return build(
        "--python-version", target[0], "--python-archive", str(archive), "--python-sha256", sha256,
        "--out", str(out),
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory, target, archive) -> tuple[Path, str]:
    """One complete build for the target: (output folder, what build.sh printed)."""
    out = tmp_path_factory.mktemp("dist")
    done = build_complete(target, *archive, out)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def entries(path: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: info for info in archive.infolist()}


def mode(info: zipfile.ZipInfo) -> int:
    return info.external_attr >> 16


def test_function_zip_layout_and_modes(built, target):
    out, printed = built
    found = entries(out / "function.zip")
    for name in [
        "bootstrap",
        "vendor/lambda_ack/loop.py",
        "vendor/runtime/__init__.py",
        "handler_example/app.py",
        "vendor/requests/__init__.py",
        "vendor/slack_sdk/webhook/client.py",
        "vendor/charset_normalizer/__init__.py",
    ]:
        assert name in found, name
    assert not [n for n in found if n.startswith(("vendor/bin/", "tests/", ".", "dist/"))]
    # The command line and the test helpers are not the runtime: no function carries them.
    assert not [
        n for n in found if n.startswith(("vendor/lambda_ack/cli", "vendor/lambda_ack/testing"))
    ]
    assert not [n for n in found if "/." in n]
    assert mode(found["bootstrap"]) == stat.S_IFREG | 0o755
    for name, info in found.items():
        assert info.date_time == (1980, 1, 1, 0, 0, 0), name
        if name.endswith("/"):
            assert mode(info) == stat.S_IFDIR | 0o755, name
        elif name != "bootstrap":
            assert mode(info) == stat.S_IFREG | 0o644, name
    assert f"sha256 {hashlib.sha256((out / 'function.zip').read_bytes()).hexdigest()}" in printed


def test_bytecode_is_precompiled_for_the_target_with_unchecked_hashes(built, target):
    out, printed = built
    tag = "cpython-" + target[0].replace(".", "")
    with zipfile.ZipFile(out / "function.zip") as archive:
        pyc = archive.read(f"vendor/lambda_ack/__pycache__/loop.{tag}.pyc")
        names = archive.namelist()
    # PEP 552: flags 0b01 = hash-based, source not checked (/var/task is read-only)
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert f"vendor/slack_sdk/__pycache__/__init__.{tag}.pyc" in names
    assert f"handler_example/__pycache__/app.{tag}.pyc" in names
    assert "bytecode precompiled with" in printed


def test_layer_unpacks_to_opt_python(built, target, archive):
    out, _ = built
    found = entries(out / "python-layer.zip")
    version = target[0]
    assert mode(found["python/bin/python3"]) == stat.S_IFLNK | 0o777
    with zipfile.ZipFile(out / "python-layer.zip") as layer:
        assert layer.read("python/bin/python3") == f"python{version}".encode()
    assert mode(found[f"python/bin/python{version}"]) == stat.S_IFREG | 0o755
    assert f"python/lib/python{version}/os.py" in found
    tag = "cpython-" + version.replace(".", "")
    assert f"python/lib/python{version}/__pycache__/json.{tag}.pyc" not in found  # a package
    assert f"python/lib/python{version}/json/__pycache__/__init__.{tag}.pyc" in found
    left_out = [name.format(version=version) for name in LEFT_OUT] + ["python/bin/pip3"]
    assert not [name for name in left_out if name in found]
    assert not [name for name in found if name.startswith(("python/include/", "python/bin/pip"))]


def test_two_builds_of_the_same_tree_are_identical(built, target, archive, tmp_path):
    out, _ = built
    again = build_complete(target, *archive, tmp_path)
    assert again.returncode == 0, again.stderr
    for name in ("function.zip", "python-layer.zip"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_the_zip_runs_on_its_own_under_the_real_rie(built, tmp_path):
    """The function and layer unpacked where Lambda puts them, /var/task and /opt (a private
    mount namespace binds the layer on /opt for this process tree only), under the real RIE. The
    environment has no LAMBDA_RUNTIME_PYTHON and an empty PATH, so `bootstrap` can only start
    /opt/python/bin/python3, and no HOME with a user site: what runs is the zip and the layer."""
    out, _ = built
    task = unpack(out / "function.zip", tmp_path / "task")
    opt = unpack(out / "python-layer.zip", tmp_path / "opt")
    assert os.access(task / "bootstrap", os.X_OK)
    empty = tmp_path / "empty"
    empty.mkdir()
    clean = {"PATH": str(empty), "HOME": str(empty), "PYTHONPATH": None}

    # Control: the layer's Python alone cannot import what the zip vendors.
    alone = subprocess.run(
        [str(opt / "python/bin/python3"), "-c", "import requests"],
        capture_output=True,
        text=True,
        env={"PATH": str(empty), "HOME": str(empty)},
    )
    assert "No module named 'requests'" in alone.stderr

    # absolute paths: the wrapper runs with the empty PATH too
    unshare, sh, mount = (shutil.which(tool) or tool for tool in ("unshare", "sh", "mount"))
    bind = f'{mount} --bind "$0" /opt && exec "$@"'
    wrapper = (unshare, "--mount", "--propagation", "private", sh, "-c", bind, str(opt))
    env = clean | {"LAMBDA_RUNTIME_PYTHON": None}
    done = slash_command_on_rie(
        "from-zip", task, env, bootstrap=task / "bootstrap", wrapper=wrapper
    )
    assert done.ack == {"text": "Accepted! (task: from-zip)"}
    assert done.follow_up["text"] == "Completed! (task: from-zip)"


def test_a_handler_folder_of_the_users_own(tmp_path):
    app = tmp_path / "my_app"
    (app / "tests").mkdir(parents=True)
    (app / "main.py").write_text("def handler(event, context):\n    return 1\n")
    (app / ".env").write_text("SECRET=1\n")
    done = build("--handler-dir", str(app), "--out", str(tmp_path / "dist"))
    assert done.returncode == 0, done.stderr
    names = set(entries(tmp_path / "dist" / "function.zip"))
    assert "my_app/main.py" in names and "my_app/tests/" in names
    assert "my_app/.env" not in names
    assert not [n for n in names if n.startswith("handler_example/")]
    assert "no --python-archive given" in done.stdout
    assert "no Python 3.12 here" in done.stdout or "bytecode precompiled" in done.stdout
    # What to deploy it with: the template's Handler parameter is this value.
    assert "`handler` is defined by: my_app/main.handler" in done.stdout
    assert "--parameter-overrides Handler=" in done.stdout


def _refused(done: subprocess.CompletedProcess[str], out: Path, *phrases: str) -> None:
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("build.sh: error: "), done.stderr
    for phrase in phrases:
        assert phrase in done.stderr
    assert not (out / "function.zip").exists()


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--arch", "i386"], ["unknown architecture 'i386'", "x86_64 or arm64"]),
        (["--python-version", "3.9"], ["unsupported Python version '3.9'", "3.12"]),
        (["--handler-dir", "/nonexistent/app"], ["/nonexistent/app does not exist"]),
        (["--handler-dir", "runtime"], ["that name is the runtime's own"]),
        (["--handler-dir", "lambda_ack"], ["that name is the runtime's own"]),
        (["--python-archive", "x.tar.gz"], ["go together"]),
        (["--requirements", "nope.txt"], ["requirements file nope.txt does not exist"]),
        (["--compile-with", "/bin/false"], ["is not a working Python 3.12"]),
    ],
)
def test_bad_options_are_refused_clearly(args, phrases, tmp_path):
    _refused(build(*args, "--out", str(tmp_path)), tmp_path, *phrases)


def test_an_archive_with_the_wrong_checksum_is_refused(archive, tmp_path, target):
    path, sha256 = archive
    wrong = "0" * 64
    done = build_complete(target, path, wrong, tmp_path)
    _refused(done, tmp_path, f"has sha256 {sha256}, not the expected {wrong}")


def _tar(dest: Path, files: dict[str, bytes]) -> tuple[str, str]:
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return str(dest), hashlib.sha256(dest.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("files", "phrase"),
    [
        ({"bin/python3": b"x"}, "is not an install_only archive"),
        (
            {"python/bin/python3": b"x", "python/lib/python3.11/os.py": b""},
            "holds Python 3.11, not the target Python 3.12",
        ),
        (
            # an aarch64 ELF header (e_machine 183) where an x86_64 one is wanted
            {
                "python/bin/python3": b"\x7fELF\x02\x01\x01" + bytes(11) + b"\xb7\x00",
                "python/lib/python3.12/os.py": b"",
            },
            "is not an x86_64 Linux executable",
        ),
    ],
)
def test_an_archive_that_is_not_the_targets_interpreter_is_refused(files, phrase, tmp_path):
    path, sha256 = _tar(tmp_path / "python.tar.gz", files)
    done = build("--python-archive", path, "--python-sha256", sha256, "--out", str(tmp_path))
    _refused(done, tmp_path, phrase)


def test_no_network_for_pip_is_said_plainly(tmp_path):
    with socket.socket() as closed:  # a port that refuses: bound, never listening
        closed.bind(("127.0.0.1", 0))
        index = f"http://127.0.0.1:{closed.getsockname()[1]}/simple"
        offline = {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_INDEX_URL": index,
            "PIP_EXTRA_INDEX_URL": "",
            "PIP_FIND_LINKS": "",
            "PIP_RETRIES": "0",
            "PIP_TIMEOUT": "2",
        }
        done = build("--out", str(tmp_path), env=offline)
    _refused(done, tmp_path, "pip could not install the dependencies", "reachable")


def test_a_handler_that_does_not_compile_fails_the_build(tmp_path, target):
    app = tmp_path / "broken_app"
    app.mkdir()
    (app / "main.py").write_text("def handler(event, context)\n    return 1\n")
    done = build(
        "--python-version", target[0], "--compile-with", target[1], "--handler-dir", str(app),
        "--out", str(tmp_path),
    )  # fmt: skip
    _refused(done, tmp_path, "the handler code does not compile", "main.py")


def test_without_a_target_interpreter_a_syntax_error_still_fails_the_build(tmp_path):
    """No pythonX.Y on PATH (only what build.sh itself needs): bytecode cannot be written, but
    the build's own interpreter still checks the handler and refuses it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))
    app = tmp_path / "broken_app"
    app.mkdir()
    (app / "main.py").write_text("def handler(event, context)\n    return 1\n")
    (app / "fine.py").write_text("x = 1\n")
    done = build("--handler-dir", str(app), "--out", str(tmp_path), env={"PATH": str(bin_dir)})
    _refused(done, tmp_path, "the handler code does not compile", "broken_app/main.py:1")
    assert "fine.py" not in done.stderr

    (app / "main.py").write_text("def handler(event, context):\n    return 1\n")
    done = build("--handler-dir", str(app), "--out", str(tmp_path), env={"PATH": str(bin_dir)})
    assert done.returncode == 0, done.stderr
    assert "no bytecode was written" in done.stdout and "syntax was checked" in done.stdout


def test_a_failed_build_leaves_no_zip_of_an_earlier_one(tmp_path):
    for name in ("function.zip", "python-layer.zip"):
        (tmp_path / name).write_bytes(b"an earlier build, for arm64")
    _refused(build("--arch", "i386", "--out", str(tmp_path)), tmp_path, "unknown architecture")
    assert not (tmp_path / "python-layer.zip").exists()
    assert not (tmp_path / "stage").exists()


def test_over_lambdas_unzipped_limit(tmp_path):
    app = tmp_path / "big_app"
    app.mkdir()
    (app / "main.py").write_text("")
    with (app / "model.bin").open("wb") as f:
        f.truncate(251 * 1024 * 1024)  # sparse: no disk, no time
    done = build("--handler-dir", str(app), "--out", str(tmp_path))
    _refused(done, tmp_path, "unzipped: over Lambda's 250.0 MB limit")


def test_over_the_zipped_limit_for_direct_upload(tmp_path):
    app = tmp_path / "noisy_app"
    app.mkdir()
    (app / "main.py").write_text("")
    (app / "noise.bin").write_bytes(os.urandom(51 * 1024 * 1024))  # does not compress
    done = build("--handler-dir", str(app), "--out", str(tmp_path))
    _refused(done, tmp_path, "zipped: over Lambda's 50.0 MB limit for a direct upload")
    assert not list(tmp_path.glob("*.part"))


def test_dependencies_without_hashes_are_refused(tmp_path):
    extra = tmp_path / "requirements-extra.txt"
    extra.write_text("six==1.16.0\n")
    done = build("--requirements", str(extra), "--out", str(tmp_path))
    _refused(
        done,
        tmp_path,
        "pins 'six==1.16.0' without a hash (line 1)",
        "pip-compile --generate-hashes",
    )


def _pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of a hashed lock."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        head = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", block)
        if head:
            pins[head[1].lower()] = (
                head[2],
                frozenset(re.findall(r"sha256:([0-9a-f]{64})", block)),
            )
    return pins


def test_the_hand_off_lock_adds_boto3_and_agrees_with_the_runtime_lock():
    """Both are installed together (`--requirements requirements-handoff.txt`): a package in both
    must be pinned to the same version with the same hashes, or pip refuses the pair."""
    runtime, handoff = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-handoff.txt")
    assert {"boto3", "botocore"} <= set(handoff) and "boto3" not in runtime
    shared = set(runtime) & set(handoff)
    assert shared and all(runtime[name] == handoff[name] for name in shared), shared
    assert all(hashes for _, hashes in handoff.values())
