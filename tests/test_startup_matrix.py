"""The runtime starts wherever users start it: every way of starting it, from every folder.

Layouts: this checkout (`./bootstrap` beside `lambda_ack/`), an unpacked function zip of a project
(laid out by the builder's own steps: the code at the root, the runtime in `vendor/`; zipped and
unpacked as Lambda does), and a container image (the runtime in `var/runtime`, the code in
`var/task`). Each is started from the runtime's own folder, from
the task root and from an unrelated folder; by `bootstrap`, by `bootstrap` under an
`AWS_LAMBDA_EXEC_WRAPPER`, and as `python -m lambda_ack` (an image's entrypoint); with and
without a `PYTHONPATH` of the user's. In each, a handler that imports `runtime` gets the
runtime's, and one with a `runtime.py` of its own gets its own (and the API as `lambda_ack`);
both defer work that runs.

Python runs with `-S -s`: the venv's path file puts this checkout on every venv interpreter's
`sys.path`, which would hide a runtime that lost its own folder (the defect this guards
against: started from its own folder, `import runtime` failed).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from fake_api import ROOT, FakeRuntimeAPI, RuntimeProcess

from lambda_ack.cli.build.function import bootstrap_into, copy_tree, runtime_into
from lambda_ack.cli.build.zips import unpack, write_zip

PLAIN_APP = """
import os
import urllib.request

import runtime
from runtime import defer


def mark(name):
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    urllib.request.urlopen(urllib.request.Request(f"http://{address}/mark/{name}", b"")).read()


def handler(event, context):
    defer(mark, "deferred-ran")
    try:
        import shared_lib
    except ImportError:
        shared_lib = None
    return {
        "runtime": os.path.dirname(os.path.realpath(runtime.__file__)),
        "lib": shared_lib and shared_lib.WHERE,
    }
"""
OWN_APP = PLAIN_APP.replace("from runtime import defer", "from lambda_ack import defer").replace(
    "os.path.dirname(os.path.realpath(runtime.__file__))", "runtime.WHOSE"
)
OWN_RUNTIME = 'WHOSE = "the function\'s own"\n'


class Layout:
    """Where the runtime is (`home`, with `bootstrap`; `packages`, the folder holding
    `lambda_ack`), where the code is, and its handler."""

    def __init__(self, name: str, home: Path, task_root: Path, handler: str, packages: Path):
        self.name, self.home, self.task_root, self.handler = name, home, task_root, handler
        self.packages = packages


def _write_app(folder: Path, own: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(OWN_APP if own else PLAIN_APP)
    if own:
        (folder / "runtime.py").write_text(OWN_RUNTIME)


def _layout(name: str, own: bool, base: Path) -> Layout:
    if name == "checkout":
        _write_app(base / "bot", own)
        return Layout(name, ROOT, base / "bot", "app.handler", ROOT)
    if name == "image":  # as the repository's Dockerfile lays it out
        runtime_root = base / "var" / "runtime"
        runtime_root.mkdir(parents=True)
        for package in ("lambda_ack", "runtime"):
            copy_tree(ROOT / package, runtime_root / package)
        bootstrap_into(runtime_root)
        _write_app(base / "var" / "task", own)
        return Layout(name, runtime_root, base / "var" / "task", "app.handler", runtime_root)
    # A project's function zip, laid out by the builder's own steps (code at the root, the runtime
    # in vendor/), zipped and unpacked with each entry's mode, as Lambda unpacks it.
    staged = base / "stage"
    _write_app(staged, own)
    runtime_into(staged / "vendor")
    bootstrap_into(staged)
    write_zip(staged, base / "function.zip")
    unpacked = unpack(base / "function.zip", base / "var-task")
    return Layout(name, unpacked, unpacked, "app.handler", unpacked / "vendor")


KINDS = [(layout, own) for layout in ("checkout", "image", "zip") for own in (False, True)]
WHERE = ("runtime's folder", "task root", "unrelated folder")
HOW = ("bootstrap", "exec wrapper", "python -m lambda_ack")
_ID = {
    "runtime's folder": "from-its-folder",
    "task root": "from-task-root",
    "unrelated folder": "from-elsewhere",
    "bootstrap": "bootstrap",
    "exec wrapper": "exec-wrapper",
    "python -m lambda_ack": "python-m",
}
CELLS = [
    (layout, own, where, how, pythonpath)
    for (layout, own), where, how, pythonpath in itertools.product(KINDS, WHERE, HOW, (False, True))
    if not (layout == "zip" and where == "task root")  # the same folder as the runtime's there
]


@pytest.mark.parametrize(
    ("layout_name", "own", "where", "how", "pythonpath"),
    CELLS,
    ids=[
        "-".join(
            [lay, "own-runtime" if own else "imports-runtime", _ID[where], _ID[how]]
            + (["PYTHONPATH"] if path else [])
        )
        for lay, own, where, how, path in CELLS
    ],
)
def test_the_runtime_starts_and_serves(tmp_path, layout_name, own, where, how, pythonpath):
    layout = _layout(layout_name, own, tmp_path)
    unrelated = tmp_path / "elsewhere"
    unrelated.mkdir()
    cwd = {"runtime's folder": layout.home, "task root": layout.task_root}.get(where, unrelated)
    # This interpreter, with nothing importable but the standard library and what the
    # layout and PYTHONPATH give it.
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -s -S "$@"\n')
    python.chmod(0o755)
    env = {"LAMBDA_TASK_ROOT": str(layout.task_root), "LAMBDA_RUNTIME_PYTHON": str(python)}
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "shared_lib.py").write_text(f"WHERE = {str(libs)!r}\n")
    paths = [str(libs)] if pythonpath else []
    command = [str(layout.home / "bootstrap")]
    if how == "exec wrapper":
        wrapper = tmp_path / "wrapper"
        wrapper.write_text('#!/bin/sh\nexec "$@"\n')
        wrapper.chmod(0o755)
        env["AWS_LAMBDA_EXEC_WRAPPER"] = str(wrapper)
    elif how == "python -m lambda_ack":
        command = [str(python), "-m", "lambda_ack"]
        if cwd != layout.packages:  # as an image sets it: the runtime must be found somewhere
            paths.append(str(layout.packages))
    env["PYTHONPATH"] = ":".join(paths) if paths else None

    api = FakeRuntimeAPI()
    proc = RuntimeProcess(api.address, layout.handler, env, cwd=cwd, command=command)
    try:
        request_id = api.push({})
        outcome = api.outcome(request_id)
        assert outcome.path.endswith("/response"), f"{outcome.body!r}\n{proc.output}"
        answer = outcome.json()
        expected = "the function's own" if own else str((layout.packages / "runtime").resolve())
        assert answer["runtime"] == expected, proc.output
        assert answer["lib"] == (str(libs) if pythonpath else None)
        api.wait_for(lambda rs: any(r.path == "/mark/deferred-ran" for r in rs))
    finally:
        proc.stop()
        api.close()
