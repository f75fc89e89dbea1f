"""The real AWS Runtime Interface Emulator (RIE), as a plain process: no Docker needed.

AWS ships the RIE binary inside the `aws-sam-cli` wheel on PyPI. This module downloads that
wheel once (pinned version and sha256), extracts only the binary for this machine into the
per-user cache (`lambda_ack.cli.paths.cache_dir`), and runs the runtime under it. RIE is the
reference for the Lambda protocol, but it differs from Lambda in ways that matter to deferred
work (see the README): it answers the caller only when the runtime asks for the next event,
never freezes the process, does not stream, and crashes on concurrent invokes — so invokes are
sent one at a time.

    ./dev rie fetch
    ./dev rie run HANDLER [--task-root DIR] [--port 9000] [--runtime-api-port N] [--timeout S]
    ./dev invoke EVENT_FILE [--port 9000]     (lambda_ack/cli/local/invoke.py)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import TextIO

from lambda_ack.cli.local.collected import wait_for_text
from lambda_ack.cli.local.invoke import InvokeResult, invoke
from lambda_ack.cli.local.lambda_env import lambda_env
from lambda_ack.cli.local.ports import PortTaken, ensure_free, free_port
from lambda_ack.cli.paths import cache_dir, command_of, runtime_command

SAM_CLI_VERSION = "1.170.0"
WHEEL = f"aws_sam_cli-{SAM_CLI_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf"
# `docker run -p 9000:8080` is how the RIE is usually reached, so docs and scripts say :9000.
DEFAULT_PORT = 9000
_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


class RIEUnavailable(RuntimeError):
    """The RIE binary cannot be had; the message says what failed and what to do."""


def ensure_rie() -> Path:
    """The cached RIE binary for this machine, downloaded and verified on first use."""
    machine = platform.machine().lower()
    arch = _ARCHES.get(machine)
    if arch is None:
        raise RIEUnavailable(f"AWS publishes no RIE binary for this machine ({machine})")
    cache = cache_dir() / "rie" / SAM_CLI_VERSION
    binary = cache / f"aws-lambda-rie-{arch}"
    if os.access(binary, os.X_OK):
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        wheel = Path(tmp) / WHEEL
        _download(tmp, cache)
        if not wheel.exists():
            raise RIEUnavailable(f"pip did not produce {WHEEL} in {tmp}")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise RIEUnavailable(
                f"{WHEEL} has sha256 {digest}, expected {WHEEL_SHA256}: refusing to run it"
            )
        member = f"samcli/local/rapid/aws-lambda-rie-{arch}"
        with zipfile.ZipFile(wheel) as archive:
            if member not in archive.namelist():
                raise RIEUnavailable(f"{WHEEL} has no {member}")
            partial = Path(tmp) / binary.name
            partial.write_bytes(archive.read(member))
        partial.chmod(0o755)
        os.replace(partial, binary)  # atomic: parallel test runs never see half a file
    return binary


def _download(into: str, cache: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        f"aws-sam-cli=={SAM_CLI_VERSION}",
        "-d",
        into,
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        said = (getattr(e, "stderr", None) or "").strip().splitlines()[-3:]
        raise RIEUnavailable(
            f"could not download aws-sam-cli=={SAM_CLI_VERSION} from PyPI to get the RIE "
            f"binary ({' / '.join(said) or e}). It needs access to PyPI once; after that the "
            f"binary is cached in {cache}."
        ) from e


class RIE:
    """`bootstrap` running under the real RIE on loopback; a context manager that kills both."""

    def __init__(
        self,
        handler: str,
        task_root: str | Path,
        env: dict[str, str | None] | None = None,
        bootstrap: str | Path | list[str] | None = None,
        port: int = 0,
        runtime_api_port: int = 0,
        function_timeout_s: int | None = None,
        log_level: str = "debug",
        echo: TextIO | None = None,
        wrapper: tuple[str, ...] = (),
    ) -> None:
        """`echo`, when set, also gets RIE's and the runtime's output line by line; `wrapper` is
        a command RIE runs under (its arguments follow), e.g. one entering a mount namespace."""
        binary = ensure_rie()
        task_root = Path(task_root).resolve()
        self.port = port or free_port()
        self.runtime_api_port = runtime_api_port or free_port()
        self.invoke_address = f"127.0.0.1:{self.port}"
        full_env = lambda_env(task_root, env)
        if function_timeout_s is not None:
            full_env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = str(function_timeout_s)
        self._lines: list[str] = []
        self._lock = threading.Condition()
        self._echo = echo
        self._closed = False
        self._proc = subprocess.Popen(
            [
                *wrapper,
                str(binary),
                "--runtime-api-address",
                f"127.0.0.1:{self.runtime_api_port}",
                "--runtime-interface-emulator-address",
                self.invoke_address,
                "--log-level",
                log_level,
                *(runtime_command() if bootstrap is None else command_of(bootstrap)),
                handler,
            ],
            env=full_env,
            cwd=task_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # RIE and the runtime it starts die together in close()
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        try:
            self._wait_listening(timeout=15.0)
        except BaseException:
            self.close()
            raise

    def invoke(
        self, event: object, headers: dict[str, str] | None = None, timeout: float = 60.0
    ) -> InvokeResult:
        """One invoke; RIE cannot take two at once, so callers must not overlap them."""
        return invoke(self.invoke_address, event, headers, timeout)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_output(self, text: str, timeout: float = 15.0, count: int = 1) -> str:
        """The output once it contains `text` (`count` times): lines reach us through a pipe, a
        little after RIE or the runtime wrote them."""
        return wait_for_text(self._lock, self._lines, text, count, timeout, "RIE output")

    def stop(self, grace_s: float = 3.0) -> None:
        """A stop the user asked for: RIE is told to shut down (SIGTERM), as Lambda ends an
        environment, so the runtime gets its own SIGTERM and reports what was running; whatever
        is left after `grace_s` is killed."""
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(grace_s)
        self.close()

    def close(self) -> None:
        """Kill RIE and everything it started. RIE puts the runtime in a process group of its
        own, so the kill goes to every process of the session RIE leads. Once: `stop` closes,
        and a `with` block or a `finally` closes again."""
        if self._closed:
            return
        self._closed = True
        for pid in [self._proc.pid, *session_members(self._proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._proc.wait()
        self._reader.join(5)

    def __enter__(self) -> RIE:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self) -> int:
        """Until RIE exits (it does not by itself: `run` waits here for Ctrl-C)."""
        return self._proc.wait()

    def _collect(self) -> None:
        for raw in self._proc.stdout:  # type: ignore[union-attr]
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._lines.append(line)
                self._lock.notify_all()
            if self._echo is not None:
                self._echo.write(line.replace("\r", "\n  "))

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RIEUnavailable(f"RIE exited with {self._proc.returncode}:\n{self.output}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)  # polling a port that is not open yet, bounded by the deadline
        raise RIEUnavailable(f"RIE did not listen on {self.invoke_address} in {timeout} s")


def session_members(sid: int) -> list[int]:
    """Live processes (zombies left out) of session `sid`, read from /proc (RIE runs on Linux
    only)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # After "pid (comm)": state, ppid, pgrp, session, ...; comm may hold spaces and parens.
        fields = stat.rpartition(")")[2].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


def add_arguments(parser: argparse.ArgumentParser, handler_required: bool = True) -> None:
    parser.add_argument(
        "handler",
        nargs=None if handler_required else "?",
        help="module.function, as in _HANDLER"
        + ("" if handler_required else " (default: the project's)"),
    )
    parser.add_argument("--task-root", help="the function's code folder (default: .)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="invoke port (0: any free)")
    parser.add_argument("--runtime-api-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--timeout", type=int, help="AWS_LAMBDA_FUNCTION_TIMEOUT in seconds")


def main(argv: list[str] | None = None, prog: str = "./dev rie") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download and cache the RIE binary; print its path")
    run = commands.add_parser(
        "run",
        help="run a handler under RIE until Ctrl-C or SIGTERM",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(run)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        try:
            print(ensure_rie())
        except RIEUnavailable as e:
            sys.exit(f"rie: {e}")
    else:
        run_under_rie(args)


def run_under_rie(args: argparse.Namespace, prog: str = "rie") -> None:
    """The handler under RIE until the user stops it; exits with RIE's status, or what failed in
    one line."""
    try:
        sys.exit(_run(args))
    except (RIEUnavailable, PortTaken) as e:
        sys.exit(f"{prog}: {e}")


def _run(args: argparse.Namespace) -> int:
    """Until the user stops it (0) or RIE exits by itself (its status, never 0)."""
    if args.port:
        ensure_free(args.port, "--port")
    if args.runtime_api_port:
        ensure_free(args.runtime_api_port, "--runtime-api-port")

    def stop_requested(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Both, explicitly: a process started in the background by a script inherits SIGINT
    # ignored, and Python then leaves it ignored, so Ctrl-C (kill -INT) would do nothing.
    signal.signal(signal.SIGTERM, stop_requested)
    signal.signal(signal.SIGINT, stop_requested)
    rie = RIE(
        args.handler,
        args.task_root or ".",
        port=args.port,
        runtime_api_port=args.runtime_api_port,
        function_timeout_s=args.timeout,
        log_level="info",
        echo=sys.stderr,
    )
    try:
        print(f"RIE listening on http://{rie.invoke_address} (Ctrl-C stops it)", file=sys.stderr)
        status = rie.wait()
        print(f"rie: RIE exited by itself with status {status}", file=sys.stderr)
        return status or 1
    except KeyboardInterrupt:
        print("rie: stopping (RIE and the runtime get SIGTERM, as on shutdown)", file=sys.stderr)
        rie.stop()
        return 0
    finally:
        rie.close()


if __name__ == "__main__":
    main()
