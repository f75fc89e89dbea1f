"""The interpreter layer's Python: a python-build-standalone `install_only_stripped` archive,
checked against its sha256, unpacked, checked to be the target's, and pruned; and the bytecode,
compiled by an interpreter of the target's version.

provided.al2023 has no Python, so the interpreter ships as a layer that Lambda unpacks in /opt,
where `bootstrap` finds /opt/python/bin/python3. A layer rather than part of the function zip,
because it changes far less often than the code: redeploying a handler then uploads the few-MB
function zip, not the tens of MB of the interpreter with it, and one layer serves every function
of the same Python.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

from lambda_ack.cli.build.report import say
from lambda_ack.cli.build.target import Target
from lambda_ack.cli.build.zips import mb, sha256_of, size_of
from lambda_ack.cli.errors import CommandError


def fetch(source: str, sha256: str, downloads: Path) -> Path:
    """A local path is used where it is; a URL is downloaded once, kept under its hash."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise CommandError(f"--python-sha256 {sha256!r} is not a sha256 (64 hex digits)")
    if re.match(r"https?://", source):
        path = downloads / f"{sha256}.tar.gz"
        if not path.exists():
            downloads.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            say(f"downloading {source}")
            try:
                with urllib.request.urlopen(source, timeout=60) as answer, partial.open("wb") as f:
                    shutil.copyfileobj(answer, f)
            except OSError as error:
                partial.unlink(missing_ok=True)
                raise CommandError(
                    f"cannot download {source}: {error}. Without internet, pass the archive as a "
                    "file: --python-archive PATH --python-sha256 HEX"
                ) from None
            partial.rename(path)
    else:
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"Python archive {source} does not exist")
    actual = sha256_of(path)
    if actual != sha256:
        if path.parent == downloads:
            path.unlink()
        raise CommandError(
            f"Python archive {source} has sha256 {actual}, not the expected {sha256}: "
            "refusing to ship it (a download cut short or altered on the way: try again, or "
            "pass an archive you checked with --python-archive and --python-sha256)"
        )
    return path


def unpack_interpreter(archive: Path, layer: Path, target: Target) -> None:
    """The archive's `python/` folder, checked to be the target's interpreter."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(layer, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise CommandError(f"cannot unpack Python archive {archive}: {error}") from None
    python = layer / "python"
    executable = python / "bin" / "python3"
    if not (executable.exists() and (python / "lib").is_dir()):
        raise CommandError(
            f"{archive} is not an install_only archive: python/bin/python3 and python/lib are "
            "expected at its top"
        )
    if sorted(p.name for p in layer.iterdir()) != ["python"]:
        raise CommandError(f"{archive} holds more than python/ at its top")
    versions = sorted(p.name for p in (python / "lib").glob("python3.*") if p.is_dir())
    if versions != [f"python{target.version}"]:
        found = ", ".join(v.removeprefix("python") for v in versions) or "none"
        raise CommandError(
            f"{archive} holds Python {found}, not the target Python {target.version}"
        )
    machine = _elf_machine(executable.resolve())
    if machine != target.elf_machine:
        raise CommandError(
            f"{archive}'s python/bin/python3 is not an {target.arch} Linux executable "
            f"(ELF machine {machine}); use the {target.triple} archive"
        )


def prune_interpreter(python: Path, target: Target) -> None:
    """Leave out what no Lambda function can use: the layer is downloaded and unpacked when an
    environment is created, so every MB is paid at cold start. Kept: the interpreter, the whole
    standard library a program may import, and `site-packages` minus pip."""
    stdlib = f"lib/python{target.version}"
    patterns = [
        "include",  # C headers, for compiling extensions
        "share",  # man pages
        "lib/pkgconfig",
        "lib/libtcl*",  # Tcl/Tk: Tkinter needs a display
        "lib/libtk*",
        "lib/tcl*",
        "lib/tk*",
        "lib/itcl*",
        "lib/thread*",
        f"{stdlib}/lib-dynload/_tkinter*",
        f"{stdlib}/tkinter",
        f"{stdlib}/idlelib",
        f"{stdlib}/turtledemo",
        f"{stdlib}/test",  # CPython's own test suite
        f"{stdlib}/ensurepip",  # pip cannot install into a read-only /opt
        f"{stdlib}/site-packages/pip",
        f"{stdlib}/site-packages/pip-*",
        f"{stdlib}/config-*",  # static library and Makefile, for embedding and building
        "bin/pip*",
        "bin/idle*",
        "bin/pydoc*",
        "bin/2to3*",
        "bin/python*-config",
    ]
    removed = 0
    for pattern in patterns:
        for path in sorted(python.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                removed += size_of(path)
                shutil.rmtree(path)
            else:
                removed += path.lstat().st_size if not path.is_symlink() else 0
                path.unlink()
    for link in [p for p in python.rglob("*") if p.is_symlink() and not p.exists()]:
        link.unlink()  # pointed at something left out
    if removed:
        say(
            f"left out of the layer what a Lambda function cannot use (headers, "
            f"Tcl/Tk, pip, CPython's tests, ...): {mb(removed)}"
        )


def _elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def compiler(chosen: str | None, layer: Path | None, target: Target) -> str | None:
    """An interpreter of the target's minor version: bytecode depends on nothing else."""
    if chosen:
        if version_of(chosen) != target.version:
            raise CommandError(f"--compile-with {chosen} is not a working Python {target.version}")
        return chosen
    candidates = [f"python{target.version}"]
    if layer is not None:
        candidates.insert(0, str(layer / "python" / "bin" / "python3"))
    for candidate in candidates:
        if version_of(candidate) == target.version:
            return shutil.which(candidate) or candidate
    return None


def version_of(python: str) -> str | None:
    """ "3.12" for a working interpreter at `python`, else None."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def precompile(python: str, tree: Path, deployed_at: str, strict: tuple[Path, ...]) -> None:
    """unchecked-hash bytecode: Lambda's file system is read-only, so Python could never replace
    a stale .pyc, and checking the source's timestamp would be wasted work.

    A file that does not compile fails the build when it is in `strict` (the user's handler, so
    the mistake shows here and not at the first cold start); elsewhere (vendored packages, the
    standard library) it is reported, since packages can ship files that are never imported.
    """
    command = [python, "-m", "compileall", "-q", "-f", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", deployed_at]
    command += ["-x", r"[/\\](test|tests|idle_test|lib2to3)[/\\]", str(tree)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 0:
        return
    report = (done.stdout + done.stderr).strip()
    if any(str(folder) in report for folder in strict):
        raise CommandError(f"the handler code does not compile:\n{report}")
    say(f"warning: some files under {tree.name}/ do not compile:\n{report}")


def check_syntax(tree: Path, target: Target) -> None:
    """Without an interpreter of the target version, the build's own still catches what would
    fail every cold start; a version mismatch is said, since newer syntax can be refused."""
    problems = []
    for path in [tree] if tree.is_file() else sorted(tree.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            where = f"{path.relative_to(tree.parent)}:{getattr(error, 'lineno', '?')}"
            problems.append(f"  {where}: {getattr(error, 'msg', error)}")
    if problems:
        checked = running_version()
        note = (
            ""
            if checked == target.version
            else (
                f" (checked with Python {checked}, not the target {target.version}: pass "
                f"--compile-with /path/to/python{target.version} to check with the target's own)"
            )
        )
        raise CommandError("the handler code does not compile" + note + ":\n" + "\n".join(problems))


def running_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"
