"""The function's tree, as Lambda unpacks it in /var/task (or an image has it):

- `bootstrap`, what Lambda starts;
- `vendor/`: the requirements installed for the target (hash-checked, wheels only, for the
  target's platform and Python version, never the build machine's), and the runtime itself
  (`lambda_ack`, `runtime`), less what is not the runtime (the command line and the test helpers);
- the function's code: a project's files at the root, as on AWS's managed Python runtime, or a
  handler folder under its own name.

The runtime sits in `vendor/`, after the code on `sys.path`, so the code's module names win: a
`runtime.py` of the function's own is what `import runtime` gives it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from lambda_ack.cli.build.target import Target
from lambda_ack.cli.errors import CommandError
from lambda_ack.cli.paths import FACADE, NOT_RUNTIME, PACKAGE, bootstrap_file

# Names at the function's root that are the runtime's, or its interpreter's.
RESERVED_NAMES = {"bootstrap", "lambda_ack", "vendor", "python"}
SKIPPED = ("__pycache__", ".*", "*.pyc", "*.pyo")


def copy_tree(source: Path, into: Path) -> None:
    shutil.copytree(source, into, ignore=shutil.ignore_patterns(*SKIPPED))


def runtime_into(vendor: Path) -> None:
    """`lambda_ack/` and `runtime/`, as this command's own installation has them."""
    skipped = shutil.ignore_patterns(*SKIPPED)

    def ignored(folder: str, names: list[str]) -> set[str]:
        left_out = skipped(folder, names)
        if Path(folder) == PACKAGE:
            left_out |= {name for name in names if name.removesuffix(".py") in NOT_RUNTIME}
        return left_out

    shutil.copytree(PACKAGE, vendor / "lambda_ack", ignore=ignored)
    copy_tree(FACADE, vendor / "runtime")


def bootstrap_into(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / "bootstrap"
    shutil.copyfile(bootstrap_file(), dest)
    dest.chmod(0o755)  # whatever the checkout or the wheel left it with


def code_into(entries: list[tuple[Path, str]], root: Path) -> None:
    """Each (source, name at the root) copied; a name the runtime needs there is refused."""
    for source, name in entries:
        if name in RESERVED_NAMES:
            raise CommandError(
                f"{source} cannot go in the function as {name}: that name is the runtime's own; "
                "rename it"
            )
        if source.is_dir():
            copy_tree(source, root / name)
        else:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)


def check_hashed(requirements: list[Path]) -> None:
    """Every requirement pinned with its hashes: what a function ships is what was reviewed."""
    for path in requirements:
        text = re.sub(r"\\\n", " ", path.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.split("#", 1)[0].strip()
            if not stripped or stripped.startswith("-"):
                continue
            if "--hash=" not in stripped:
                raise CommandError(
                    f"{path} pins {stripped.split()[0]!r} without a hash (line {number}); every "
                    "requirement needs one: make a hashed lock with `pip-compile "
                    f"--generate-hashes -o {path.name} {path.with_suffix('.in').name}` (pip-tools)"
                )


def vendor(requirements: list[Path], into: Path, target: Target) -> None:
    check_hashed(requirements)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--require-hashes", "--only-binary=:all:", "--no-compile", "--target", str(into)]
    command += ["--implementation", "cp", "--python-version", target.version]
    for platform in target.platforms():
        command += ["--platform", platform]
    for path in requirements:
        command += ["-r", str(path)]
    if requirements:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(
                f"pip could not install the dependencies for {target}.\n{done.stderr.strip()}\n"
                "Is PyPI (or your configured index) reachable? Every requirements file must pin "
                "every package with --hash (pip-compile --generate-hashes), and each must have a "
                "wheel for this platform and Python."
            )
    into.mkdir(parents=True, exist_ok=True)
    # Console scripts point at the build machine's Python; nothing at run time uses them.
    shutil.rmtree(into / "bin", ignore_errors=True)
    # Wheels set execute bits at random (a test file here, a .so there); nothing in vendor/ is
    # executed, and the zip keeps the bits it finds (a handler folder may carry a tool).
    for path in into.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)
