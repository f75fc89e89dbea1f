"""The environments the benchmark runs in, built once and cached under `.cache/`.

Both runtimes run on the same interpreter: a venv made `--without-pip` (so no `.pth` files or
setuptools shims run at start-up) holding only awslambdaric and what it pulls in. awslambdaric
never enters `requirements*.txt` or the project's `.venv`. Our runtime runs from a staged copy
of `bootstrap` and `runtime/`, compiled to bytecode as pip compiles awslambdaric, so neither side
pays for compiling its own source at init.
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
import sys
from pathlib import Path
from py_compile import PycInvalidationMode

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
TASK = Path(__file__).resolve().parent / "task"
AWSLAMBDARIC = "awslambdaric==4.2.2"


def bench_python() -> Path:
    """The interpreter both runtimes use, with awslambdaric installed beside it (cached)."""
    venv = CACHE / "bench-venv"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == AWSLAMBDARIC:
        return python
    print(f"bench: installing {AWSLAMBDARIC} into {venv} (once)", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True
    )
    pip(python, AWSLAMBDARIC)
    stamp.write_text(AWSLAMBDARIC)
    return python


def awslambdaric_bootstrap(into: Path, python: Path) -> Path:
    """A `bootstrap` that starts awslambdaric on `python`, as AWS's managed runtime does, for the
    emulator or RIE (which pass the handler as `_HANDLER` or as the argument)."""
    bootstrap = into / "bootstrap"
    bootstrap.write_text(f'#!/bin/sh\nexec "{python}" -m awslambdaric "${{_HANDLER:-$1}}"\n')
    bootstrap.chmod(0o755)
    return bootstrap


def pip(python: Path, *args: str) -> None:
    """pip from the driver's environment, installing into `python`'s (which has no pip)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *args],
        check=True,
    )


NO_CACHE = shutil.ignore_patterns("__pycache__", "*.pyc")


def stage_runtime(into: Path, *, source: Path = ROOT, bytecode: bool = True) -> Path:
    """Copy `bootstrap`, the runtime's packages (from `source`, to try a patch; an older tree
    has only `runtime/`) and the bench handler to `into`; return the task root."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "bootstrap", into / "bootstrap")
    for package in ("lambda_ack", "runtime"):
        if (source / package).is_dir():
            shutil.copytree(source / package, into / package, ignore=NO_CACHE)
    shutil.copytree(TASK, into / "task", ignore=NO_CACHE)
    if bytecode:
        precompile(into)
    return into / "task"


def precompile(tree: Path) -> None:
    """Bytecode that Python trusts without reading the source's timestamp, as in a zip."""
    ok = compileall.compile_dir(
        str(tree),
        quiet=1,
        invalidation_mode=PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise RuntimeError(f"compileall failed under {tree}")
