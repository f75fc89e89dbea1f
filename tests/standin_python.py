"""A python-build-standalone archive's stand-in, made from this machine's own CPython.

No python-build-standalone archive can be downloaded here (GitHub is out of reach), so the
interpreter archive is made from this machine's own CPython in the same `install_only` shape
(`python/bin/python3 -> python3.X`, `python/lib/python3.X/`). It is an honest stand-in for what
matters here: the build checks, unpacks and lays it out as it would the real one, and the
function then runs with nothing importable but that standard library and the zip's own files.
Its one tie to the machine is the libpython shared library its executable links to, which, like
libc, is loaded by the dynamic linker and not imported.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

# Standard-library folders a Slack function never imports; leaving them out keeps the stand-in
# archive (and this test) small.
UNUSED_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data"}
LEFT_OUT = {
    "python/include/python{version}/Python.h": b"/* C headers */\n",
    "python/lib/python{version}/site-packages/pip/__init__.py": b"",
    "python/lib/python{version}/idlelib/__init__.py": b"",
    "python/bin/pip{version}": b"#!/bin/sh\n",
}


def _python_of_version(version: str) -> str | None:
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python3")))
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable, '%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and done.stdout.split()[1] == version:
            return os.path.realpath(done.stdout.split()[0])
    return None


def target_python() -> tuple[str, str]:
    """(version, interpreter): the deployed 3.12 where this machine has one, else this one."""
    python = _python_of_version("3.12")
    if python:
        return "3.12", python
    return f"{sys.version_info[0]}.{sys.version_info[1]}", os.path.realpath(sys.executable)


def stand_in_archive(python: str, version: str, dest: Path) -> Path:
    """An install_only-shaped .tar.gz of `python`: executable, symlink, standard library."""
    prefix = Path(
        subprocess.run(
            [python, "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    stdlib = prefix / "lib" / f"python{version}"

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if len(parts) > 3 and (parts[3] in UNUSED_STDLIB or parts[3].startswith("config-")):
            return None
        if "__pycache__" in parts or "site-packages" in parts:
            return None
        return info

    with tarfile.open(dest, "w:gz", compresslevel=1) as tar:
        tar.add(python, arcname=f"python/bin/python{version}")
        link = tarfile.TarInfo("python/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, f"python{version}"
        tar.addfile(link)
        tar.add(stdlib, arcname=f"python/lib/python{version}", filter=keep)
        # What real archives also carry and build.sh leaves out of the layer
        for name, data in LEFT_OUT.items():
            info = tarfile.TarInfo(name.format(version=version))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        pip = tarfile.TarInfo("python/bin/pip3")
        pip.type, pip.linkname = tarfile.SYMTYPE, f"pip{version}"
        tar.addfile(pip)
    return dest
