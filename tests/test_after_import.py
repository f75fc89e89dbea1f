"""lambda_ack.logs.after_import: a callback right after a module's first import, and nothing else
changed about that module or about importing."""

import inspect
import sys

import pytest

from lambda_ack.logs.after_import import after_import


@pytest.fixture
def fresh_module(tmp_path, monkeypatch):
    """A module no one has imported yet, on the path for this test only."""
    name = f"late_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n\n\ndef f():\n    return VALUE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_the_callback_runs_once_after_the_module_has_run(fresh_module):
    seen = []
    after_import(fresh_module, lambda module: seen.append(module.VALUE))
    assert seen == []
    module = __import__(fresh_module)
    __import__(fresh_module)
    assert seen == [1]
    assert not any(type(finder).__name__ == "_Finder" for finder in sys.meta_path)
    # The module keeps its own loader: its source is found as for any module.
    assert type(module.__loader__).__name__ == "SourceFileLoader"
    assert "return VALUE" in inspect.getsource(module.f)


def test_an_imported_module_gets_the_callback_at_once():
    seen = []
    after_import("json", seen.append)
    assert seen == [sys.modules["json"]]


def test_a_module_that_is_not_there_yet_still_gets_the_callback_when_it_comes(
    tmp_path, fresh_module
):
    seen = []
    missing = fresh_module + "_later"
    after_import(missing, lambda module: seen.append(module.__name__))
    with pytest.raises(ModuleNotFoundError):
        __import__(missing)
    (tmp_path / f"{missing}.py").write_text("")
    import importlib

    importlib.invalidate_caches()
    try:
        __import__(missing)
        assert seen == [missing]
    finally:
        sys.modules.pop(missing, None)
