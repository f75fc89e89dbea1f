"""One run of one runtime: spawn it, time its init, drive the measured phases, kill it.

Each run is a fresh process, so every run contributes one cold start and one warm steady state.
CPU and peak RSS are read only while the runtime is blocked in `/next` (the server holds it
there between phases), so a sample never cuts an invocation in half.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from procstat import cpu_seconds, cpu_ticks_seconds, peak_rss_kib
from server import BenchFailure, Server

HANDLER = "bench_handler.handler"
SMALL_EVENT = json.dumps({"kind": "small", "pad": "x" * 72}).encode()  # 100 bytes
LARGE_EVENT = json.dumps({"kind": "large", "pad": "x" * (100 * 1024 - 28)}).encode()  # 100 KiB
assert len(SMALL_EVENT) == 100 and len(LARGE_EVENT) == 100 * 1024


@dataclass(frozen=True)
class Runtime:
    """How to start one runtime under test, and whether it can defer work."""

    name: str
    argv: tuple[str, ...]
    task_root: Path
    defers: bool


@dataclass(frozen=True)
class Plan:
    """How much of each phase one run does."""

    warmup: int = 200
    small: int = 10_000
    large: int = 1_000
    defers: int = 3
    defer_s: float = 2.0
    env: dict[str, str] = field(default_factory=dict)


def lambda_ack(stage: Path) -> Runtime:
    """Our runtime as Lambda starts it: `bootstrap`, told which Python to use."""
    return Runtime("lambda-ack", (str(stage / "bootstrap"),), stage / "task", defers=True)


def awslambdaric(task_root: Path, python: Path) -> Runtime:
    """AWS's client as its container images start it: `python -m awslambdaric HANDLER`."""
    return Runtime("awslambdaric", (str(python), "-m", "awslambdaric", HANDLER), task_root, False)


def lambda_env(python: Path, address: str, task_root: Path, handler: str) -> dict[str, str]:
    """What Lambda sets, and nothing of this shell's Python settings (PYTHONPATH and the like).

    PYTHONDONTWRITEBYTECODE keeps every start identical: a run never leaves bytecode behind for
    the next one.
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
    env.update(
        AWS_LAMBDA_RUNTIME_API=address,
        _HANDLER=handler,
        LAMBDA_TASK_ROOT=str(task_root),
        LAMBDA_RUNTIME_PYTHON=str(python),
        PYTHONDONTWRITEBYTECODE="1",
        TZ=":UTC",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/01/01/[$LATEST]bench",
        AWS_REGION="us-east-1",
        # The execution role's credentials, shaped as Lambda sets them (a session token is about
        # 1 KB): what this runtime's log redaction reads at start-up.
        AWS_ACCESS_KEY_ID="ASIA" + "B" * 16,
        AWS_SECRET_ACCESS_KEY=_fake_key(40),
        AWS_SESSION_TOKEN=_fake_key(1060),
    )
    return env


def _fake_key(length: int) -> str:
    """A fixed stand-in in base64's alphabet, the same in every run."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(alphabet[(i * 37 + 11) % 64] for i in range(length))


class Spawned:
    """A runtime process with its output in a temporary file, killed by PID on exit."""

    def __init__(self, argv: tuple[str, ...], env: dict[str, str], cwd: Path) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.started_ns = time.perf_counter_ns()
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT
        )

    def __enter__(self) -> Spawned:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if isinstance(exc, BenchFailure):
            exc.add_note("runtime output (tail):\n" + self.output_tail())
        self._log.close()

    def output_tail(self, size: int = 4000) -> str:
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - size))
        return self._log.read().decode("utf-8", "replace")


def measure(runtime: Runtime, python: Path, server: Server, plan: Plan) -> dict[str, object]:
    """One cold start and one warm steady state of `runtime`: its metrics, by name."""
    env = lambda_env(python, server.address, runtime.task_root, HANDLER) | plan.env
    result: dict[str, object] = {}
    try:
        with Spawned(runtime.argv, env, runtime.task_root) as spawned:
            pid = spawned.proc.pid
            first_next = server.wait_idle(spawned.proc)
            result["init_ms"] = (first_next - spawned.started_ns) / 1e6
            result["init_cpu_ms"] = cpu_seconds(pid) * 1e3
            server.run(spawned.proc, SMALL_EVENT, plan.warmup)

            before, ticks_before = cpu_seconds(pid), cpu_ticks_seconds(pid)
            small = server.run(spawned.proc, SMALL_EVENT, plan.small)
            result["cpu_us_100B"] = (cpu_seconds(pid) - before) / plan.small * 1e6
            ticks = cpu_ticks_seconds(pid) - ticks_before
            result["cpu_us_100B_ticks"] = ticks / plan.small * 1e6  # cross-check, 10 ms grain
            elapsed_s = (small.next_seen[-1] - small.answered[0]) / 1e9
            result["invocations_per_s"] = plan.small / elapsed_s
            result["ack_us"] = [ns / 1e3 for ns in small.acks_ns()]

            before = cpu_seconds(pid)
            server.run(spawned.proc, LARGE_EVENT, plan.large)
            result["cpu_us_100KiB"] = (cpu_seconds(pid) - before) / plan.large * 1e6
            result["peak_rss_mib"] = peak_rss_kib(pid) / 1024
    finally:
        server.forget()
    return result


def measure_deferred(
    runtime: Runtime, python: Path, server: Server, plan: Plan
) -> dict[str, object]:
    """The acknowledgements of invocations with 2 s of work after them (deferred, and after
    `runtime.ack()`), in a process of its own, run once every init has been measured: the
    seconds the CPU idles while that work sleeps made the next process's start about 40 %
    slower (a vCPU waking from idle), and in the interleaved runs that next process was always
    awslambdaric's."""
    env = lambda_env(python, server.address, runtime.task_root, HANDLER) | plan.env
    result: dict[str, object] = {}
    try:
        with Spawned(runtime.argv, env, runtime.task_root) as spawned:
            server.wait_idle(spawned.proc)
            server.run(spawned.proc, SMALL_EVENT, plan.warmup)
            event = json.dumps({"defer_s": plan.defer_s}).encode()
            deferring = server.run(spawned.proc, event, plan.defers, 60 + 2 * plan.defer_s)
            result["defer_ack_us"] = [ns / 1e3 for ns in deferring.acks_ns()]
            result["deferred_ms"] = [
                (n - r) / 1e6 for r, n in zip(deferring.responded, deferring.next_seen, strict=True)
            ]
            event = json.dumps({"ack_then_s": plan.defer_s}).encode()
            acking = server.run(spawned.proc, event, plan.defers, 60 + 2 * plan.defer_s)
            result["early_ack_us"] = [ns / 1e3 for ns in acking.acks_ns()]
    finally:
        server.forget()
    return result


def cold_start(
    argv: tuple[str, ...], env: dict[str, str], cwd: Path, server: Server, event: bytes
) -> float:
    """Milliseconds from spawning a runtime to the first acknowledgement it posts."""
    try:
        with Spawned(argv, env, cwd) as spawned:
            server.wait_idle(spawned.proc)
            phase = server.run(spawned.proc, event, 1, settle=False)
    finally:
        server.forget()
    return (phase.responded[0] - spawned.started_ns) / 1e6
