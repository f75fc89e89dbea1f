"""Cold start of the example Slack app from the zip layout, with and without bytecode."""

from __future__ import annotations

from pathlib import Path

from server import Server


def cold_starts(
    python: Path, server: Server, work: Path, runs: int, env: dict[str, str]
) -> dict[str, dict[str, dict[str, float]]]:
    return {}
