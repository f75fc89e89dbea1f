"""Where the runtime's own files are, and the per-user cache, whether `lambda-ack` runs from an
installed wheel or from a checkout of its repository.

A function zip and an image carry `lambda_ack` and `runtime`, less the sub-packages that are not
the runtime (`NOT_RUNTIME`), and `bootstrap`: the wheel carries a copy of the repository's at
`lambda_ack/cli/bootstrap`, and of its Terraform module at `lambda_ack/cli/terraform`, which
`lambda-ack new` copies into a project. A local run starts the runtime the way `bootstrap` does,
with this interpreter (`python -u -P -m lambda_ack`); in a checkout it runs the checkout's
`bootstrap` itself, so the repository's tests start it exactly as Lambda does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import lambda_ack
import runtime

PACKAGE = Path(lambda_ack.__file__).resolve().parent
FACADE = Path(runtime.__file__).resolve().parent
# Imported by tools and tests only: never in a function.
NOT_RUNTIME = ("cli", "testing")
_in_wheel = PACKAGE / "cli" / "bootstrap"
CHECKOUT = PACKAGE.parent if (PACKAGE.parent / "bootstrap").is_file() else None


def bootstrap_file() -> Path:
    """The `bootstrap` a function zip or image gets."""
    if _in_wheel.is_file():
        return _in_wheel
    if CHECKOUT is None:
        raise FileNotFoundError(f"no bootstrap in {_in_wheel.parent}: reinstall lambda-ack")
    return CHECKOUT / "bootstrap"


def terraform_module() -> Path:
    """The folder of the Terraform module's `.tf` files."""
    in_wheel = PACKAGE / "cli" / "terraform"
    if in_wheel.is_dir():
        return in_wheel
    if CHECKOUT is None:
        raise FileNotFoundError(f"no Terraform module in {in_wheel}: reinstall lambda-ack")
    return CHECKOUT / "terraform"


def runtime_command() -> list[str]:
    """How a local run starts the runtime process."""
    if CHECKOUT is not None:
        return [str(CHECKOUT / "bootstrap")]
    return [sys.executable, "-u", "-P", "-m", "lambda_ack"]


def cache_dir() -> Path:
    """`$LAMBDA_ACK_CACHE`, else `$XDG_CACHE_HOME/lambda-ack`, else `~/.cache/lambda-ack`: the
    interpreter archives and the RIE binary, downloaded once per user and checked."""
    chosen = os.environ.get("LAMBDA_ACK_CACHE")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lambda-ack"


def command_of(bootstrap: str | Path | list[str]) -> list[str]:
    """A command as given, or the one that runs the executable file `bootstrap`."""
    if isinstance(bootstrap, list):
        return bootstrap
    return [str(Path(bootstrap).resolve())]
