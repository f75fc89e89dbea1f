"""What `./build.sh` does: the provided.al2023 function zip and, from an archive, the Python layer.

provided.al2023 has no Python, so a deployment is two parts:

- `dist/function.zip`, unpacked by Lambda in /var/task: `bootstrap`, `lambda_ack/` (the
  runtime), `runtime/` (the names handlers import), the handler folder, and `vendor/` with
  requirements.txt installed for the target (hash-checked, wheels only, for the target's
  platform and Python version, never the build machine's);
- `dist/python-layer.zip`, unpacked in /opt: `python/` from a python-build-standalone
  `install_only_stripped` archive, so `bootstrap` finds /opt/python/bin/python3.

The interpreter is a layer rather than part of the function zip because it changes far less
often than the code: redeploying a handler then uploads the 2 MB function zip, not the tens of
MB of the interpreter with it; one layer serves every function of the same Python; and the
function zip stays small enough to read in the console.

Both zips are reproducible (sorted entries, fixed timestamps, modes 755 for directories and
executables and 644 for everything else, symlinks of the archive kept as symlinks), so the same
tree gives the same sha256 and an unchanged deployment can be recognised by its hash.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ARCHITECTURES = {"x86_64": ("x86_64", 62), "arm64": ("aarch64", 183)}  # pip suffix, ELF e_machine
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
# AL2023 has glibc 2.34: every manylinux tag up to that is usable. pip (before 24) does not widen
# a manylinux_2_x platform by itself, so the tags are listed.
GLIBC_MINORS = range(34, 16, -1)

ZIPPED_LIMIT = 50 * 1024 * 1024  # direct upload of a zip (function or layer)
UNZIPPED_LIMIT = 250 * 1024 * 1024  # the function and all its layers, unpacked
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: nothing about when it was built
RESERVED_NAMES = {"bootstrap", "lambda_ack", "runtime", "vendor", "python"}
SKIPPED = ("__pycache__", ".*", "*.pyc", "*.pyo")


class BuildError(Exception):
    """A problem with the build's input or environment, said in one message for the user."""


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        build(args)
    except BuildError as error:
        print(f"build.sh: error: {error}", file=sys.stderr)
        return 1
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build.sh",
        description="Build dist/function.zip (and dist/python-layer.zip) for provided.al2023.",
    )
    parser.add_argument("--arch", default="x86_64", help="x86_64 (default) or arm64")
    parser.add_argument(
        "--python-version",
        default="3.12",
        help=f"target Python, one of {', '.join(PYTHON_VERSIONS)} (default 3.12)",
    )
    parser.add_argument(
        "--handler-dir",
        default=str(ROOT / "handler_example"),
        help="folder with the handler code, zipped under its own name "
        "(default handler_example: _HANDLER=handler_example/app.handler)",
    )
    parser.add_argument(
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="more dependencies to vendor, pinned with hashes (pip-compile --generate-hashes); "
        "may be repeated",
    )
    parser.add_argument(
        "--python-archive",
        metavar="PATH_OR_URL",
        help="python-build-standalone install_only_stripped .tar.gz for the target",
    )
    parser.add_argument("--python-sha256", metavar="HEX", help="sha256 of --python-archive")
    parser.add_argument(
        "--compile-with",
        metavar="PYTHON",
        help="interpreter of the target's version to precompile bytecode with "
        "(default: the archive's own when it runs here, else pythonX.Y on PATH)",
    )
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default dist)")
    parser.add_argument(
        "--managed-layer",
        action="store_true",
        help="build only dist/runtime-layer.zip: `from runtime import defer` for a function on "
        "AWS's managed python3.12/3.13 runtime (with @runtime.deferrable on its handler)",
    )
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> None:
    out = Path(args.out).resolve()
    if args.managed_layer:
        from devtools.managed_layer import build_managed_layer

        out.mkdir(parents=True, exist_ok=True)
        path, zipped, size, digest = build_managed_layer(out)
        print(f"{_shown(path)}: {_mb(zipped)} zipped, {_mb(size)} unzipped, sha256 {digest}")
        return
    # Whatever happens next, no zip of an earlier build stays where this one's would be: after a
    # failed build (say an x86_64 one), an old arm64 zip would look like its result.
    for previous in (out / "function.zip", out / "python-layer.zip"):
        previous.unlink(missing_ok=True)
    target = _Target(args.arch, args.python_version)
    handler_dir = _handler_dir(Path(args.handler_dir))
    requirements = [ROOT / "requirements.txt", *map(_existing_file, args.requirements)]
    if bool(args.python_archive) != bool(args.python_sha256):
        raise BuildError("--python-archive and --python-sha256 go together")
    stage = out / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        function, layer = stage / "function", stage / "layer"

        if args.python_archive:
            archive = _fetch(args.python_archive, args.python_sha256.lower(), out / "downloads")
            _unpack_interpreter(archive, layer, target)
            _prune_interpreter(layer / "python", target)

        print(f"build.sh: vendoring {', '.join(_shown(r) for r in requirements)} for {target}")
        _vendor(requirements, function / "vendor", target)
        for package in ("lambda_ack", "runtime"):
            copy_tree(ROOT / package, function / package)
        copy_tree(handler_dir, function / handler_dir.name)
        shutil.copy2(ROOT / "bootstrap", function / "bootstrap")
        unzipped = _size(function) + (_size(layer) if layer.exists() else 0)
        if unzipped > UNZIPPED_LIMIT:
            raise BuildError(
                f"the function{' and its Python layer' if layer.exists() else ''} come to "
                f"{_mb(unzipped)} unzipped: over Lambda's {_mb(UNZIPPED_LIMIT)} limit"
            )

        compiler = _compiler(args.compile_with, layer, target)
        if compiler:
            _precompile(compiler, function, "/var/task", strict=(function / handler_dir.name,))
            if layer.exists():
                _precompile(compiler, layer / "python" / "lib", "/opt/python/lib", strict=())
            print(f"build.sh: bytecode precompiled with {compiler} (unchecked-hash)")
        else:
            _check_syntax(function / handler_dir.name, target)
            print(
                f"build.sh: no Python {target.version} here to precompile with, so no bytecode was "
                f"written (the handler's syntax was checked with this build's Python "
                f"{_running_version()}): the zip ships sources only, and every cold start compiles "
                "what it imports (/var/task is read-only), about 100 ms more for requests and "
                f"slack_sdk. Pass --compile-with /path/to/python{target.version} to precompile."
            )

        outputs = [write_zip(function, out / "function.zip")]
        if layer.exists():
            outputs.append(write_zip(layer, out / "python-layer.zip"))
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # a failed build leaves no half of itself
    for path, zipped, size, digest in outputs:
        print(f"{_shown(path)}: {_mb(zipped)} zipped, {_mb(size)} unzipped, sha256 {digest}")
    handlers = ", ".join(_handler_names(handler_dir, handler_dir.name)) or "none"
    print(
        f"build.sh: the handler is {handler_dir.name}/<module>.<function>; in this folder "
        f"`handler` is defined by: {handlers}. Deploy with _HANDLER set to it (template.yaml: "
        "sam deploy --parameter-overrides Handler=...)."
    )
    if not args.python_archive:
        print(
            "build.sh: no --python-archive given, so dist/function.zip alone does not run on "
            "provided.al2023 (it has no Python). For a complete deployment, add a layer that "
            f"puts Python {target.version} at /opt/python/bin/python3: rerun with "
            f"--python-archive cpython-{target.version}.<patch>+<date>-{target.triple}-"
            "install_only_stripped.tar.gz (from python-build-standalone's releases, path or "
            "URL) and --python-sha256 <its sha256>."
        )


class _Target:
    """Where the zip will run: Lambda's architecture and the Python version it will have."""

    def __init__(self, arch: str, version: str) -> None:
        if arch not in ARCHITECTURES:
            raise BuildError(f"unknown architecture {arch!r}: use x86_64 or arm64")
        if version not in PYTHON_VERSIONS:
            raise BuildError(
                f"unsupported Python version {version!r}: use one of {', '.join(PYTHON_VERSIONS)}"
            )
        self.arch, self.version = arch, version
        self.machine, self.elf_machine = ARCHITECTURES[arch]
        self.triple = f"{self.machine}-unknown-linux-gnu"

    def platforms(self) -> list[str]:
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in GLIBC_MINORS]
        return [*tags, f"manylinux2014_{self.machine}"]

    def __str__(self) -> str:
        return f"Python {self.version} on {self.arch} (AL2023)"


def _handler_dir(path: Path) -> Path:
    if not path.is_dir():
        raise BuildError(f"handler folder {path} does not exist or is not a folder")
    path = path.resolve()
    if path.name in RESERVED_NAMES or path == ROOT:
        raise BuildError(
            f"handler folder {path} cannot be zipped as {path.name}/: that name is the "
            "runtime's own; move the code into a folder of its own"
        )
    if not any(path.rglob("*.py")):
        raise BuildError(f"handler folder {path} has no Python file")
    return path


def _existing_file(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise BuildError(f"requirements file {name} does not exist")
    return path.resolve()


def _fetch(source: str, sha256: str, downloads: Path) -> Path:
    """A local path is used where it is; a URL is downloaded once, kept under its hash."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise BuildError(f"--python-sha256 {sha256!r} is not a sha256 (64 hex digits)")
    if re.match(r"https?://", source):
        path = downloads / f"{sha256}.tar.gz"
        if not path.exists():
            downloads.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            print(f"build.sh: downloading {source}")
            try:
                with urllib.request.urlopen(source, timeout=60) as answer, partial.open("wb") as f:
                    shutil.copyfileobj(answer, f)
            except OSError as error:
                partial.unlink(missing_ok=True)
                raise BuildError(f"cannot download {source}: {error}") from None
            partial.rename(path)
    else:
        path = Path(source)
        if not path.is_file():
            raise BuildError(f"Python archive {source} does not exist")
    actual = _sha256(path)
    if actual != sha256:
        if path.parent == downloads:
            path.unlink()
        raise BuildError(
            f"Python archive {source} has sha256 {actual}, not the expected {sha256}: "
            "refusing to ship it"
        )
    return path


def _unpack_interpreter(archive: Path, layer: Path, target: _Target) -> None:
    """The archive's `python/` folder, checked to be the target's interpreter."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(layer, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BuildError(f"cannot unpack Python archive {archive}: {error}") from None
    python = layer / "python"
    executable = python / "bin" / "python3"
    if not (executable.exists() and (python / "lib").is_dir()):
        raise BuildError(
            f"{archive} is not an install_only archive: python/bin/python3 and python/lib are "
            "expected at its top"
        )
    if sorted(p.name for p in layer.iterdir()) != ["python"]:
        raise BuildError(f"{archive} holds more than python/ at its top")
    versions = sorted(p.name for p in (python / "lib").glob("python3.*") if p.is_dir())
    if versions != [f"python{target.version}"]:
        found = ", ".join(v.removeprefix("python") for v in versions) or "none"
        raise BuildError(f"{archive} holds Python {found}, not the target Python {target.version}")
    machine = _elf_machine(executable.resolve())
    if machine != target.elf_machine:
        raise BuildError(
            f"{archive}'s python/bin/python3 is not an {target.arch} Linux executable "
            f"(ELF machine {machine}); use the {target.triple} archive"
        )


def _prune_interpreter(python: Path, target: _Target) -> None:
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
                removed += _size(path)
                shutil.rmtree(path)
            else:
                removed += path.lstat().st_size if not path.is_symlink() else 0
                path.unlink()
    for link in [p for p in python.rglob("*") if p.is_symlink() and not p.exists()]:
        link.unlink()  # pointed at something left out
    if removed:
        print(
            f"build.sh: left out of the layer what a Lambda function cannot use (headers, "
            f"Tcl/Tk, pip, CPython's tests, ...): {_mb(removed)}"
        )


def _elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _vendor(requirements: list[Path], into: Path, target: _Target) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--require-hashes", "--only-binary=:all:", "--no-compile", "--target", str(into)]
    command += ["--implementation", "cp", "--python-version", target.version]
    for platform in target.platforms():
        command += ["--platform", platform]
    for path in requirements:
        command += ["-r", str(path)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(
            f"pip could not install the dependencies for {target}.\n{done.stderr.strip()}\n"
            "Is PyPI (or your configured index) reachable? Every requirements file must pin "
            "every package with --hash (pip-compile --generate-hashes), and each must have a "
            "wheel for this platform and Python."
        )
    # Console scripts point at the build machine's Python; nothing at run time uses them.
    shutil.rmtree(into / "bin", ignore_errors=True)
    # Wheels set execute bits at random (a test file here, a .so there); nothing in vendor/ is
    # executed, and the zip keeps the bits it finds (a handler folder may carry a tool).
    for path in into.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)


def copy_tree(source: Path, into: Path) -> None:
    shutil.copytree(source, into, ignore=shutil.ignore_patterns(*SKIPPED))


def _compiler(chosen: str | None, layer: Path, target: _Target) -> str | None:
    """An interpreter of the target's minor version: bytecode depends on nothing else."""
    if chosen:
        if version_of(chosen) != target.version:
            raise BuildError(f"--compile-with {chosen} is not a working Python {target.version}")
        return chosen
    candidates = [str(layer / "python" / "bin" / "python3"), f"python{target.version}"]
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


def _precompile(python: str, tree: Path, deployed_at: str, strict: tuple[Path, ...]) -> None:
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
        raise BuildError(f"the handler code does not compile:\n{report}")
    print(f"build.sh: warning: some files under {tree.name}/ do not compile:\n{report}")


def _check_syntax(tree: Path, target: _Target) -> None:
    """Without an interpreter of the target version, the build's own still catches what would
    fail every cold start; a version mismatch is said, since newer syntax can be refused."""
    problems = []
    for path in sorted(tree.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            where = f"{path.relative_to(tree.parent)}:{getattr(error, 'lineno', '?')}"
            problems.append(f"  {where}: {getattr(error, 'msg', error)}")
    if problems:
        checked = _running_version()
        note = (
            ""
            if checked == target.version
            else (
                f" (checked with Python {checked}, not the target {target.version}: pass "
                f"--compile-with /path/to/python{target.version} to check with the target's own)"
            )
        )
        raise BuildError("the handler code does not compile" + note + ":\n" + "\n".join(problems))


def _running_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _handler_names(tree: Path, folder: str) -> list[str]:
    """`folder/module.handler` for each module of the handler folder that defines `handler`."""
    names = []
    for path in sorted(tree.rglob("*.py")):
        if re.search(rb"^(async )?def handler\b|^handler\s*=", path.read_bytes(), re.M):
            module = path.relative_to(tree).with_suffix("").as_posix()
            names.append(f"{folder}/{module}.handler")
    return names


def write_zip(tree: Path, dest: Path) -> tuple[Path, int, int, str]:
    """Zip `tree`'s contents reproducibly; fail (and leave no zip) above the upload limit."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    unzipped = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _walk(tree):
            name = path.relative_to(tree).as_posix()
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                entry = _entry(name + "/", stat.S_IFDIR | 0o755)
                entry.external_attr |= 0x10  # MS-DOS directory flag, for unzip tools on Windows
                archive.writestr(entry, b"")
            elif stat.S_ISLNK(info.st_mode):
                archive.writestr(_entry(name, stat.S_IFLNK | 0o777), os.readlink(path))
            else:
                executable = info.st_mode & 0o111
                data = path.read_bytes()
                unzipped += len(data)
                archive.writestr(
                    _entry(name, stat.S_IFREG | (0o755 if executable else 0o644)), data
                )
    zipped = partial.stat().st_size
    if zipped > ZIPPED_LIMIT:
        partial.unlink()
        raise BuildError(
            f"{_shown(dest)} would be {_mb(zipped)} zipped: over Lambda's {_mb(ZIPPED_LIMIT)} "
            "limit for a direct upload. Drop what the function does not need, or split "
            "dependencies into a layer."
        )
    partial.replace(dest)
    return dest, zipped, unzipped, _sha256(dest)


def unpack(path: Path, into: Path) -> Path:
    """Unpack a zip as Lambda does: with each entry's mode and symlinks, which
    `ZipFile.extractall` drops. Tests and the benchmark run the zips from such a folder."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            dest = into / info.filename
            mode = info.external_attr >> 16
            dest.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISDIR(mode):
                dest.mkdir(exist_ok=True)
            elif stat.S_ISLNK(mode):
                dest.symlink_to(archive.read(info).decode())
                continue
            else:
                dest.write_bytes(archive.read(info))
            dest.chmod(stat.S_IMODE(mode))
    return into


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.create_system = 3  # Unix: Lambda's unzip applies the mode bits only from such entries
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return entry


def _walk(tree: Path) -> list[Path]:
    """Every directory, file and symlink under `tree`, in one order whatever the file system."""
    found = []
    for folder, dirs, files in os.walk(tree):
        base = Path(folder)
        found += (base / name for name in dirs + files)  # a symlinked folder is not entered
    return sorted(found, key=lambda p: p.relative_to(tree).as_posix())


def _size(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
