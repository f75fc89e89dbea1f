"""A user's project: the nearest folder, from where the command runs, whose `pyproject.toml` has a
`[tool.lambda-ack]` table (what `lambda-ack new` writes):

    [tool.lambda-ack]
    handler = "app.handler"        # _HANDLER: module.function, `/` for sub-folders
    python-version = "3.12"        # 3.11 to 3.14
    architecture = "x86_64"        # or arm64
    requirements = ["requirements.txt"]   # hashed locks (pip-compile --generate-hashes)
    include = ["app.py"]           # what goes in the function; by default every top-level
                                   # module and package but tests (test_*.py, tests/, conftest.py)

Every key is optional but `handler`. The folder itself is the function's code root: its files go
at the root of the zip (/var/task), as on AWS's managed Python runtime.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lambda_ack.cli.build.target import DEFAULT_ARCH, DEFAULT_VERSION
from lambda_ack.cli.errors import CommandError

TABLE = "lambda-ack"
_NOT_CODE = {"tests", "test", "conftest.py", "setup.py", "noxfile.py"}


@dataclass(frozen=True)
class Project:
    root: Path
    handler: str
    python_version: str
    architecture: str
    requirements: tuple[Path, ...]
    include: tuple[str, ...] | None

    def code(self) -> list[Path]:
        """The files and folders that go at the function's root."""
        if self.include is not None:
            chosen = [self.root / name for name in self.include]
            missing = [str(p.relative_to(self.root)) for p in chosen if not p.exists()]
            if missing:
                raise CommandError(
                    f"[tool.lambda-ack] include names what is not in {self.root}: "
                    f"{', '.join(missing)}; fix the list in pyproject.toml"
                )
            return chosen
        return sorted(
            path
            for path in self.root.iterdir()
            if not path.name.startswith((".", "_"))
            and path.name not in _NOT_CODE
            and not path.name.startswith("test_")
            and (
                (path.is_file() and path.suffix == ".py")
                or (path.is_dir() and (path / "__init__.py").is_file())
            )
        )


def find(start: Path | None = None) -> Project:
    """The project that `start` (default: the working folder) is in."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            settings = _settings(pyproject)
            if settings is not None:
                return _project(folder, settings)
    raise CommandError(
        f"no lambda-ack project in {here} or above it (a pyproject.toml with a [tool.lambda-ack] "
        "table); run `lambda-ack new DIR` to make one, or run this command inside your project"
    )


def _settings(pyproject: Path) -> dict | None:
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CommandError(f"cannot read {pyproject}: {e}; fix its TOML") from None
    settings = data.get("tool", {}).get(TABLE)
    return settings if isinstance(settings, dict) else None


def _project(root: Path, settings: dict) -> Project:
    handler = settings.get("handler")
    if not isinstance(handler, str) or not handler:
        raise CommandError(
            f'{root / "pyproject.toml"} has no handler: add `handler = "app.handler"` (module.'
            "function) to its [tool.lambda-ack] table"
        )
    check_handler(root, handler)
    requirements = settings.get("requirements", ["requirements.txt"])
    if isinstance(requirements, str):
        requirements = [requirements]
    include = settings.get("include")
    return Project(
        root=root,
        handler=handler,
        python_version=str(settings.get("python-version", DEFAULT_VERSION)),
        architecture=str(settings.get("architecture", DEFAULT_ARCH)),
        requirements=tuple(root / name for name in requirements if (root / name).exists()),
        include=None if include is None else tuple(include),
    )


def check_handler(root: Path, handler: str) -> None:
    """CommandError unless `handler` names a function that a module of `root` defines (read, not
    imported: a build must not run the user's code)."""
    module, _, function = handler.rpartition(".")
    fix = "set [tool.lambda-ack] handler in pyproject.toml to module.function"
    if not module or not function:
        raise CommandError(f"handler {handler!r} is not module.function; {fix}")
    base = root / module.replace(".", "/")
    source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    if source is None:
        raise CommandError(f"handler {handler}: there is no {module}.py in {root}; {fix}")
    try:
        tree = ast.parse(source.read_bytes(), str(source))
    except SyntaxError as e:
        raise CommandError(f"{source}:{e.lineno}: {e.msg}; fix the syntax error") from None
    if function not in _top_level_names(tree):
        raise CommandError(
            f"handler {handler}: {source.relative_to(root)} defines no `{function}`; {fix}"
        )


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names
