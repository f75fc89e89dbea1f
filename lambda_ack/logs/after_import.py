"""Run a function right after a module is first imported, by whoever imports it.

The runtime's logging set-up needs `logging`, which costs a few milliseconds of cold start
(with `traceback`, `string`, `weakref`); many functions import it anyway (boto3, requests,
slack_sdk, Powertools), some never do. So the set-up waits for the first import of `logging`
and runs before that import returns: nobody can look at `logging` before it is set up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType


def after_import(name: str, callback: Callable[[ModuleType], None]) -> None:
    """`callback(module)` once `name` has been imported: now if it already is."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    sys.meta_path.insert(0, _Finder(name, callback))


class _Finder:
    """First on `sys.meta_path` until the module is found: it finds the module as the finders
    after it do and wraps only its loader, which it gives back once the module has run."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self._name, self._callback = name, callback

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self._name:
            return None
        sys.meta_path.remove(self)  # once, and never asked again by the search below
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                break
        else:
            sys.meta_path.insert(0, self)  # not there (yet): the callback waits on
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader, self._callback)
        return spec


class _Loader:
    def __init__(self, loader, callback: Callable[[ModuleType], None]) -> None:
        self._loader, self._callback = loader, callback

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module's own loader from the start: `inspect`, `linecache` and `importlib.resources`
        # ask it for sources and files, while the module's code runs too.
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._callback(module)
