"""Shared fixtures: `emulator` makes local Lambdas (`lambda_ack.cli.local.emulator`) and closes
them all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lambda_ack.cli.local.emulator import Emulator

EMULATOR_HANDLERS = Path(__file__).resolve().parent / "emulator_handlers"


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    """`emulator(handler, task_root=tests/emulator_handlers, **Emulator kwargs)`."""
    made: list[Emulator] = []

    def make(handler: str, task_root: str | Path = EMULATOR_HANDLERS, **kwargs) -> Emulator:
        made.append(Emulator(handler, task_root, **kwargs))
        return made[-1]

    yield make
    for emu in made:
        emu.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each selected test N times (hunting tests that fail by chance)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`--repeat N` parametrises every test N times, so one run reports every failing round."""
    count = metafunc.config.getoption("repeat")
    if count > 1:
        metafunc.fixturenames.append("_repeat_round")
        metafunc.parametrize(
            "_repeat_round", range(1, count + 1), ids=lambda n: f"round{n}", scope="function"
        )


# The files that take longest, first: the two workers take files in collection order, and one of
# these started last would leave the other worker idle for its length.
SLOW_FIRST = (
    "test_terraform.py",
    "test_package.py",
    "test_readme.py",
    "test_build.py",
    "test_new_project.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order


def pytest_collection_finish(session: pytest.Session) -> None:
    """The Terraform apply test's slow part starts now and runs beside the rest of the suite
    (terraform_support says why). Not in a pytest-xdist worker: every worker collects every
    test, and only the one given the file runs it (it starts its apply then, while the other
    worker goes on with the rest)."""
    import os

    import terraform_support

    if os.environ.get("PYTEST_XDIST_WORKER"):
        return

    wanted = any(item.nodeid.startswith(terraform_support.APPLY_TEST) for item in session.items)
    if wanted and terraform_support.missing() is None:
        terraform_support.start_apply()


def pytest_sessionfinish(session: pytest.Session) -> None:
    import terraform_support

    terraform_support.stop_apply()
