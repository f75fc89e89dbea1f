"""The interpreter finds itself: a table of python-build-standalone releases, one archive for each
supported Python version and architecture, with its sha256, downloaded once per user.

The table pins one release for all (`RELEASE`); a test checks every row against an independent
copy of the same release data (the `pbs-installer` package), so a mistyped hash fails the suite.
`LAMBDA_ACK_PYTHON_TABLE` names a JSON file that replaces it (`{"3.12": {"x86_64": {"url": ...,
"sha256": ...}}}`): a mirror inside a company network, or a stand-in archive for tests. A machine
without internet passes an archive by hand (`--python-archive PATH --python-sha256 HEX`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lambda_ack.cli.build.interpreter import fetch
from lambda_ack.cli.build.target import Target
from lambda_ack.cli.errors import CommandError
from lambda_ack.cli.paths import cache_dir

RELEASE = "20261021"
TABLE_VARIABLE = "LAMBDA_ACK_PYTHON_TABLE"
_BASE = f"https://github.com/astral-sh/python-build-standalone/releases/download/{RELEASE}"
# (version, architecture) -> (CPython release, sha256 of its install_only_stripped archive)
ARCHIVES = {
    ("3.11", "x86_64"): (
        "3.11.17",
        "224ca8be2d28841e7a382a27c51e74f4ed0aabe249a79294684e782363165948",
    ),
    ("3.11", "arm64"): (
        "3.11.17",
        "a2364356a17f63de74120a55d5af1f8ae56b8e700c9d43f478ba90e2f543f3a6",
    ),
    ("3.12", "x86_64"): (
        "3.12.15",
        "6d7521138fd33afddc1ccd08abb007d9a2829e38117c2576f9efdc0ec73ce772",
    ),
    ("3.12", "arm64"): (
        "3.12.15",
        "b4567aa5a11f51b540c4dfd9e082ebf23e554f8ac17b85caa6cea23e83693394",
    ),
    ("3.13", "x86_64"): (
        "3.13.17",
        "f829adc9d888e76c8801b4799ed444188d35239fcae3a9808a99ec5cb0d8d92c",
    ),
    ("3.13", "arm64"): (
        "3.13.17",
        "c6857c65b996701a5da104cbb49b35249c0c026dc0664239b04f7156aa88326a",
    ),
    ("3.14", "x86_64"): (
        "3.14.9",
        "561e91c1cadf30e84aec94d1917384ae3267e5f3e6e135e51fd1578bb19f4064",
    ),
    ("3.14", "arm64"): (
        "3.14.9",
        "6f77731d85a14ed848dd4041478cd3ed511523caa3d896b84b436a7edf13cf62",
    ),
}


def url_of(release: str, target: Target) -> str:
    name = f"cpython-{release}%2B{RELEASE}-{target.triple}-install_only_stripped.tar.gz"
    return f"{_BASE}/{name}"


def table() -> dict[tuple[str, str], tuple[str, str]]:
    """(version, architecture) -> (URL, sha256): the pinned table, or the one the variable names."""
    override = os.environ.get(TABLE_VARIABLE)
    if not override:
        return {
            key: (url_of(release, Target(key[1], key[0])), sha256)
            for key, (release, sha256) in ARCHIVES.items()
        }
    try:
        data = json.loads(Path(override).read_text())
        return {
            (version, arch): (row["url"], row["sha256"])
            for version, arches in data.items()
            for arch, row in arches.items()
        }
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as e:
        raise CommandError(
            f"{TABLE_VARIABLE}={override} is not a readable table ({e}): give a JSON file of "
            '{"3.12": {"x86_64": {"url": ..., "sha256": ...}}}, or unset it'
        ) from None


def interpreter_archive(target: Target) -> Path:
    """The target's archive from the table, downloaded into the per-user cache on first use and
    checked against its sha256 every time."""
    found = table().get((target.version, target.arch))
    if found is None:
        raise CommandError(
            f"no interpreter archive for {target} in the table; pass one with --python-archive "
            "PATH --python-sha256 HEX"
        )
    url, sha256 = found
    return fetch(url, sha256, cache_dir() / "python")


def described() -> str:
    """The table, for `lambda-ack build --help`."""
    versions = sorted({version for version, _ in ARCHIVES})
    arches = sorted({arch for _, arch in ARCHIVES})
    return (
        f"python-build-standalone {RELEASE}: Python {', '.join(versions)} for "
        f"{' and '.join(arches)}"
    )
