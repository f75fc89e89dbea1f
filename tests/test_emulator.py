"""The emulator's promises, each shown by what a caller or a stand-in server observes.

Work that must wait blocks on a request to a loopback server the test answers (`gate`), never on
a sleep; the only fixed waits are the bounded ones that show something does NOT happen.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lambda_ack.cli.local.invoke import invoke
from lambda_ack.cli.local.loopback import LoopbackServer

EMULATOR_HANDLERS = Path(__file__).resolve().parent / "emulator_handlers"


@pytest.fixture
def gate():
    with LoopbackServer() as server:
        yield server


def waiting_event(gate: LoopbackServer, n: int = 0, gate_path: str = "/gate") -> dict:
    return {"n": n, "gate": gate.url + gate_path, "done": f"{gate.url}/done/{n}"}


def test_caller_has_its_answer_while_the_deferred_callback_is_still_blocked(emulator, gate):
    stream = io.StringIO()
    emu = emulator("handlers.ack_then_wait", function_timeout_s=7, timeline=stream)
    gate.hold("/gate")

    result = emu.invoke(waiting_event(gate, 1))
    answered = time.perf_counter()

    assert result.status == 200 and result.json() == {"ack": 1}
    assert result.function_error is None
    gate.wait_for("/gate")  # the deferred callback is blocked on the gate right now...
    assert not [r for r in gate.requests if r.path.startswith("/done")]  # ...and not finished
    gate.release("/gate")
    done = gate.wait_for("/done/1")
    emu.wait_idle()

    assert answered < done.at
    (timeline,) = emu.timelines
    assert timeline.status == "ok" and not timeline.timed_out and timeline.cold_start
    assert 0 < timeline.ack_ms <= result.elapsed_ms
    assert timeline.deferred_ms >= (done.at - answered) * 1000
    # The caller's answer is written while the deferred phase runs, so ack and deferred overlap;
    # queued and duration do not: they split the invocation's whole time between them.
    assert timeline.total_ms == pytest.approx(timeline.queued_ms + timeline.duration_ms)
    assert timeline.deferred_ms < timeline.duration_ms
    line = stream.getvalue()
    assert timeline.request_id[:8] in line and "timeout 7 s" in line
    assert f"ack {timeline.ack_ms:.1f} ms" in line
    assert f"deferred {timeline.deferred_ms:.1f} ms" in line
    assert "callbacks_run=2" in emu.output


def test_invokes_arriving_while_the_runtime_is_busy_wait_and_are_answered_in_order(emulator, gate):
    emu = emulator("handlers.ack_then_wait", timeline=None)
    gate.hold("/gate")
    assert emu.invoke(waiting_event(gate, 0)).json() == {"ack": 0}
    gate.wait_for("/gate")  # the runtime is busy with deferred work

    results = {}
    threads = []
    for n in (1, 2, 3):
        thread = threading.Thread(
            target=lambda n=n: results.__setitem__(n, emu.invoke(waiting_event(gate, n)))
        )
        thread.start()
        threads.append(thread)
        emu.wait_queued(n)
    assert results == {}  # nobody is answered while the runtime is still busy

    gate.release("/gate")
    for thread in threads:
        thread.join(30)
    emu.wait_idle()

    assert [results[n].json() for n in (1, 2, 3)] == [{"ack": 1}, {"ack": 2}, {"ack": 3}]
    handed_in = [t.request_id for t in emu.timelines]
    assert handed_in[1:] == [results[n].headers["x-amzn-requestid"] for n in (1, 2, 3)]
    assert [t.status for t in emu.timelines] == ["ok"] * 4
    assert [t.cold_start for t in emu.timelines] == [True, False, False, False]


def test_the_timeout_covers_deferred_work_and_the_next_invoke_starts_a_new_runtime(emulator, gate):
    emu = emulator("handlers.ack_then_wait", function_timeout_s=1.0, timeline=None)
    gate.hold("/gate")  # never released: the deferred callback is stuck

    first = emu.invoke(waiting_event(gate, 1))
    stuck_pid = emu.runtime_pid
    emu.wait_idle()

    assert first.json() == {"ack": 1} and first.function_error is None  # answered in time
    (timeline,) = emu.timelines
    assert timeline.timed_out and timeline.status == "timeout"
    assert timeline.duration_ms >= 1000 and timeline.deferred_ms > 0
    with pytest.raises(ProcessLookupError):
        os.kill(stuck_pid, 0)

    second = emu.invoke(waiting_event(gate, 2, gate_path="/open"))
    emu.wait_idle()

    assert second.json() == {"ack": 2}
    assert emu.runtime_pid not in (None, stuck_pid)
    assert emu.timelines[1].cold_start and emu.timelines[1].status == "ok"


def test_a_handler_that_never_answers_gets_lambdas_timeout_error(emulator):
    emu = emulator("handlers.stuck", function_timeout_s=0.5, timeline=None)

    result = emu.invoke({})

    assert result.status == 200 and result.function_error == "Unhandled"
    error = result.json()
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert result.elapsed_ms >= 500
    emu.wait_idle()
    assert emu.timelines[0].timed_out and emu.timelines[0].deferred_ms is None


@pytest.mark.parametrize("freeze", [False, True], ids=["no-freeze", "freeze"])
def test_freeze_stops_threads_that_outlive_their_invocation(emulator, gate, freeze):
    emu = emulator("handlers.background_thread", freeze=freeze, timeline=None)
    gate.hold("/gate")

    emu.invoke({"gate": f"{gate.url}/gate", "progress": f"{gate.url}/progress/1"})
    emu.wait_idle()  # the invocation is over: the runtime waits for the next event
    gate.release("/gate")

    if not freeze:
        gate.wait_for("/progress/1")  # on a plain process the thread goes on between invokes
        return
    with pytest.raises(TimeoutError):  # frozen, like an idle Lambda environment
        gate.wait_for("/progress/1", timeout=0.5)
    # The next invocation thaws the process and holds it thawed (its deferred callback waits on
    # /hold) until the old thread has been seen to go on: no schedule is assumed.
    gate.hold("/hold")
    second_sent = time.perf_counter()
    emu.invoke(
        {
            "gate": f"{gate.url}/open",
            "progress": f"{gate.url}/progress/2",
            "hold": f"{gate.url}/hold",
        }
    )
    assert gate.wait_for("/progress/1").at > second_sent  # it resumes with the next event
    gate.release("/hold")
    emu.wait_idle()


def test_lambda_runtime_headers_reach_the_handler(emulator):
    emu = emulator("handlers.context_fields", function_timeout_s=5, timeline=None)

    direct = emu.invoke(
        {},
        headers={
            "Lambda-Runtime-Client-Context": json.dumps({"custom": {"app": "direct"}}),
            "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "id-1"}),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-1",
            "Lambda-Runtime-Trace-Id": "Root=1-00000001-direct",
            "Lambda-Runtime-Invocation-Id": "invocation-1",
        },
    ).json()
    client_context = base64.b64encode(json.dumps({"custom": {"app": "invoke-api"}}).encode())
    aliased = emu.invoke(
        {},
        headers={
            "X-Amz-Client-Context": client_context.decode(),
            "X-Amz-Tenant-Id": "tenant-2",
            "X-Amzn-Trace-Id": "Root=1-00000002-aliased",
        },
    ).json()
    default = emu.invoke({}).json()
    emu.wait_idle()

    assert 0 < direct.pop("remaining_ms") <= 5000
    assert direct == {
        "client_context": {"app": "direct"},
        "identity": "id-1",
        "tenant_id": "tenant-1",
        "trace_id": "Root=1-00000001-direct",
    }
    assert emu.timelines[0].invocation_id == "invocation-1"  # the runtime echoed it back
    assert aliased["client_context"] == {"app": "invoke-api"}
    assert aliased["tenant_id"] == "tenant-2" and aliased["trace_id"] == "Root=1-00000002-aliased"
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", default["trace_id"]
    )
    assert default["client_context"] is None and default["tenant_id"] is None


def test_handler_errors_reach_the_caller_as_lambda_sends_them(emulator):
    emu = emulator("handlers.fail", timeline=None)

    result = emu.invoke({})

    assert result.status == 200 and result.function_error == "Unhandled"
    assert result.json()["errorType"] == "ValueError"
    emu.wait_idle()
    assert emu.timelines[0].status == "error"


def test_init_failure_answers_the_invoke_and_the_next_invoke_initialises_again(emulator):
    emu = emulator("broken.handler", timeline=None)

    first = emu.invoke({})
    second = emu.invoke({})
    emu.wait_idle()

    for result in (first, second):
        assert result.function_error == "Unhandled"
        assert result.json()["errorMessage"] == "broken at import"
    assert [(t.status, t.cold_start) for t in emu.timelines] == [("init error", True)] * 2
    assert emu.output.count("broken at import") >= 2  # two processes tried


def test_a_missing_bootstrap_is_lambdas_invalid_entrypoint(emulator, tmp_path):
    emu = emulator("handlers.echo", bootstrap=tmp_path / "no-bootstrap", timeline=None)

    result = emu.invoke({})

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.InvalidEntrypoint"


def test_command_line():
    argv = ["handlers.echo", "--port", "0", "--task-root", str(EMULATOR_HANDLERS), "--timeout", "5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lambda_ack.cli.local.emulator", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30, proc.kill)  # a hung emulator fails the test, not the run
    watchdog.start()
    try:
        address = re.search(r"http://(127\.0\.0\.1:\d+)/", proc.stdout.readline()).group(1)
        result = invoke(address, {"hello": "cli"})
        assert result.json()["event"] == {"hello": "cli"}
        stderr: list[str] = []
        timeline, runtime_log = "emulator: ", "invocation done: ack_ms="
        while not all(any(m in line for line in stderr) for m in (timeline, runtime_log)):
            stderr.append(proc.stderr.readline())
            assert stderr[-1], f"stderr ended before the timeline and the log: {stderr}"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
        watchdog.cancel()
    assert proc.returncode == 0
    line = next(line for line in stderr if line.startswith(timeline))
    assert re.match(r"emulator: \w{8} ok .*ack [\d.]+ ms \| deferred [\d.]+ ms", line)
