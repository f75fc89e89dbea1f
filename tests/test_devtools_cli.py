"""The local tools as a user runs them (`./dev rie`, `./dev emulate`, `./dev invoke`): clean
starts, clean stops, one clear line for each mistake. Everything waits on what the processes
print or on a loopback request, never on a sleep."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambda_ack.cli.local.invoke import invoke
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import session_members

ROOT = Path(__file__).resolve().parent.parent
DEV = str(ROOT / "dev")
EMULATOR_HANDLERS = ROOT / "tests" / "emulator_handlers"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process (here: this one) listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def run_dev(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DEV, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=None
    )


@pytest.mark.parametrize("tool", ["rie run", "emulate"])
def test_a_taken_port_is_one_line_and_a_failure(tool, held_port):
    done = run_dev(*tool.split(), "handlers.echo", "--port", str(held_port))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert f"port {held_port} on 127.0.0.1 is not available" in line
    assert "pick another with --port N" in line


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def started(
    *args: str, sigint_ignored: bool = False
) -> Iterator[tuple[subprocess.Popen, str, list[str]]]:
    """A `./dev` server command, its invoke address once it said it, and its stderr lines so far
    (a thread keeps reading them, so the pipe never fills). `sigint_ignored`: started as a
    script's background job is, with SIGINT ignored."""
    proc = subprocess.Popen(
        [DEV, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    lines: list[str] = []
    found = threading.Event()
    address: list[str] = []

    def read(stream) -> None:
        for line in stream:
            lines.append(line)
            if not address and (m := re.search(r"http://(127\.0\.0\.1:\d+)", line)):
                address.append(m.group(1))
                found.set()
        found.set()  # ended without an address: the assertion below says so

    readers = [
        threading.Thread(target=read, args=(s,), daemon=True) for s in (proc.stdout, proc.stderr)
    ]
    for reader in readers:
        reader.start()
    killer = threading.Timer(60, proc.kill)  # a hung tool fails its test, not the run
    killer.start()
    try:
        found.wait(60)
        assert address, "".join(lines)
        yield proc, address[0], lines
    finally:
        if proc.poll() is None:  # a hung tool: it and what it started (RIE's session) go
            started_by_it = [pid for child in children(proc.pid) for pid in session_members(child)]
            proc.kill()
            for pid in started_by_it:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait()
        for reader in readers:
            reader.join(10)
        killer.cancel()


def _exit_status(proc: subprocess.Popen, members: list[int], lines: list[str]) -> int:
    """The tool's exit status within 20 s; otherwise a failure that says what the tool said and
    where each process it started was waiting."""
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        states = {}
        for pid in [proc.pid, *children(proc.pid), *members]:
            try:
                status = Path(f"/proc/{pid}/status").read_text().splitlines()[:3]
                states[pid] = (status, Path(f"/proc/{pid}/wchan").read_text())
            except OSError:
                states[pid] = "gone"
        pytest.fail(f"still running after 20 s: {states}\n{''.join(lines)}")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.parametrize(
    ("signum", "sigint_ignored"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["ctrl-c", "sigterm", "ctrl-c-started-in-the-background"],
)
def test_rie_run_stops_everything_it_started(signum, sigint_ignored):
    with started(
        "rie", "run", "handlers.echo", "--task-root", str(EMULATOR_HANDLERS), "--port", "0",
        sigint_ignored=sigint_ignored,
    ) as (proc, address, lines):  # fmt: skip
        assert invoke(address, {"n": 1}).json()["event"] == {"n": 1}  # the runtime is up
        (rie_pid,) = children(proc.pid)
        members = session_members(rie_pid)
        assert len(members) >= 2  # RIE and the runtime it started
        proc.send_signal(signum)
        assert _exit_status(proc, members, lines) == 0
    for pid in members:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    log = "".join(lines)
    assert "SIGTERM received while idle" in log  # the runtime's own shutdown, not a kill
    assert "CRITICAL" not in log and "retrying" not in log


def test_ctrl_c_on_the_emulator_says_which_callback_it_cuts_off():
    with LoopbackServer() as gate:
        gate.hold("/gate")
        args = ("emulate", "handlers.ack_then_wait", "--task-root", str(EMULATOR_HANDLERS))
        with started(*args, "--port", "0") as (proc, address, lines):
            event = {"n": 7, "gate": f"{gate.url}/gate", "done": f"{gate.url}/done"}
            assert invoke(address, event).json() == {"ack": 7}
            gate.wait_for("/gate")  # the first deferred callback is running now
            proc.send_signal(signal.SIGINT)
            assert proc.wait(20) == 0
    log = "".join(lines)
    assert re.search(r"emulator: stopping while \w{8} runs its deferred work", log), log
    assert "SIGTERM received: deferred callback call was running; not started: call" in log
    assert "Traceback" not in log


def test_the_tools_work_from_any_directory(tmp_path):
    (tmp_path / "event.json").write_text('{"from": "elsewhere"}')
    with started(
        "emulate", "handlers.echo", "--task-root", str(EMULATOR_HANDLERS), "--port", "0"
    ) as (proc, address, _):
        port = address.rpartition(":")[2]
        done = run_dev("invoke", "event.json", "--port", port, cwd=tmp_path)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert done.returncode == 0, done.stderr
    assert '"event": {"from": "elsewhere"}' in done.stdout
    assert re.match(r"HTTP 200 in [\d.]+ ms", done.stderr)


def test_invoke_says_what_is_wrong_in_one_line(tmp_path, held_port):
    missing = run_dev("invoke", "no-such-event.json", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "invoke: cannot read the event file no-such-event.json: No such file or directory"
    )
    unsigned = subprocess.run(
        [DEV, "invoke", "--slack-command", "/start-process x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "SLACK_SIGNING_SECRET"},
    )
    assert unsigned.returncode == 1 and "$SLACK_SIGNING_SECRET, which is not set" in unsigned.stderr
    assert "Traceback" not in missing.stderr + unsigned.stderr
