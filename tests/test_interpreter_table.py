"""The interpreter table against an independent copy of the same release data: `pbs-installer`
(pinned) lists every python-build-standalone archive with its sha256. A mistyped hash, a wrong
file name or a release that does not exist fails here, not on a user's first build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from lambda_ack.cli.build import standalone
from lambda_ack.cli.build.target import PYTHON_VERSIONS, Target

ROOT = Path(__file__).resolve().parent.parent


def _pbs_archives() -> dict[str, str]:
    """URL -> sha256 of every Linux archive pbs-installer knows."""
    data = json.loads(resources.files("pbs_installer").joinpath("versions.json").read_text())
    return {
        file["url"]: file["sha256"]
        for version in data
        for file in version["files"]
        if file["platform"] == "linux"
    }


def test_every_row_is_an_archive_of_that_release_with_that_hash():
    known = _pbs_archives()
    rows = standalone.table()
    assert set(rows) == {(v, a) for v in PYTHON_VERSIONS for a in ("x86_64", "arm64")}
    for (version, arch), (url, sha256) in rows.items():
        assert url in known, (version, arch, url)
        assert known[url] == sha256, (version, arch)
        target = Target(arch, version)
        assert f"-{target.triple}-install_only_stripped.tar.gz" in url
        assert f"/cpython-{version}." in url and f"/{standalone.RELEASE}/" in url


def test_the_table_is_the_newest_of_each_version_in_its_release():
    """One release for all: each version's newest patch there, so no row lags behind."""
    known = _pbs_archives()
    for (version, arch), (url, _) in standalone.table().items():
        same = [u for u in known if f"/{standalone.RELEASE}/cpython-{version}." in u]
        patches = {int(u.split(f"cpython-{version}.")[1].split("%2B")[0]) for u in same}
        assert f"cpython-{version}.{max(patches)}%2B" in url, (version, arch)


def test_build_help_lists_the_versions_and_architectures_the_table_holds():
    done = subprocess.run(
        [sys.executable, "-m", "lambda_ack.cli", "build", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert f"python-build-standalone {standalone.RELEASE}" in done.stdout
    assert "Python 3.11, 3.12, 3.13, 3.14 for arm64 and x86_64" in done.stdout
