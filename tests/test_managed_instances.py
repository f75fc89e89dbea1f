"""Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` = 4 invocations at once, through
`./bootstrap` on the emulator with `max_concurrency=4` (RIE serves one invocation at a time).

Every wait is on an event: the emulator's count of workers waiting on `/next`, URLs the test
holds, log lines. The one retry loop is the caller's answer to a 429, as the SDKs retry it.
"""

import json
import socket
import threading
import time

import pytest

from lambda_ack.cli.local.loopback import LoopbackServer

N = 4


@pytest.fixture
def held():
    with LoopbackServer() as server:
        server.hold("/pause")
        yield server


def accepted(function, event):
    """Invoke until a slot takes it: a 429 means every slot is busy, so the caller retries."""
    while True:
        result = function.invoke(event)
        if result.status != 429:
            return result
        time.sleep(0.01)  # a caller's back-off, not a synchronisation: the test waits on results


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_forty_concurrent_invokes_each_keep_their_own_identity_and_callbacks(emulator):
    function = emulator("concurrent.work", max_concurrency=N, timeline=None)
    function.wait_ready(N)
    results: dict[int, object] = {}

    def call(n: int) -> None:
        results[n] = accepted(function, {"n": n, "ms": (n % 5) * 10})

    callers = [threading.Thread(target=call, args=(n,)) for n in range(40)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(60)
    function.wait_idle()
    output = function.wait_output("thread's callback for n=", count=40)
    output = function.wait_output("callback for n=", count=80)
    lines = json_lines(output)
    for n, result in results.items():
        assert result.status == 200 and result.function_error is None, result.body
        request_id = result.headers["x-amzn-requestid"]
        assert result.json()["request_id"] == request_id
        # Both callbacks, the one deferred from a thread included, ran in this invocation.
        mine = [line for line in lines if f"callback for n={n} in" in line["message"]]
        assert len(mine) == 2, mine
        assert {line["requestId"] for line in mine} == {request_id}
    assert len(results) == 40
    assert len({result.json()["pid"] for result in results.values()}) > 1  # spread over workers
    assert [t.status for t in function.timelines] == ["ok"] * 40
    assert all(line["level"] for line in lines)  # JSON logs, as Managed Instances require


def test_a_free_slot_takes_an_invoke_at_once_and_beyond_n_it_is_429(emulator, held):
    function = emulator("concurrent.held", max_concurrency=N, timeline=None)
    function.wait_ready(N)
    event = {"held_url": f"{held.url}/pause"}
    for n in range(N - 1):
        assert function.invoke({**event, "n": n}).json() == "held"
    held.wait_for("/pause", count=N - 1)  # three workers are in their deferred work
    # The fourth is answered while the other three still work: a free slot does not wait.
    assert function.invoke({**event, "n": N - 1}).json() == "held"
    held.wait_for("/pause", count=N)
    refused = function.invoke({**event, "n": N})
    assert refused.status == 429
    assert refused.headers["x-amzn-errortype"] == "TooManyRequestsException"
    held.release("/pause")
    function.wait_idle()
    function.wait_output("after the hold", count=N)
    assert len(function.timelines) == N  # the refused invoke never became an invocation


def test_an_error_and_a_timeout_in_one_slot_leave_the_others_alone(emulator, held):
    function = emulator(
        "concurrent.dispatch", max_concurrency=N, function_timeout_s=2, timeline=None
    )
    function.wait_ready(N)
    supervisor = function.runtime_pid
    late: list = []
    stuck = threading.Thread(
        target=lambda: late.append(
            function.invoke({"do": "stuck", "held_url": f"{held.url}/pause"})
        )
    )
    stuck.start()
    held.wait_for("/pause")  # one worker is stuck in its handler
    failed = function.invoke({"do": "fail", "n": 1})
    assert failed.function_error == "Unhandled"
    assert failed.json()["errorMessage"] == "failed on purpose (n=1)"
    assert function.invoke({"do": "work", "n": 2}).json()["n"] == 2
    stuck.join(30)
    assert late[0].json()["errorType"] == "Sandbox.Timedout"
    # Past the timeout the environment is the same one, and it serves on.
    assert function.invoke({"do": "work", "n": 3}).json()["n"] == 3
    assert function.runtime_pid == supervisor
    held.release("/pause")  # the stuck handler returns; its answer comes too late (410)
    function.wait_idle()
    output = function.wait_output("Runtime API refused /response")
    assert "HTTP 410" in output
    assert sorted(t.status for t in function.timelines) == ["error", "ok", "ok", "timeout"]


def test_sigterm_with_every_slot_busy_winds_every_worker_down(emulator, held):
    function = emulator("concurrent.held", max_concurrency=N, timeline=None)
    function.wait_ready(N)
    ids = []
    for n in range(N):
        result = function.invoke({"held_url": f"{held.url}/pause", "n": n})
        ids.append(result.headers["x-amzn-requestid"])
    held.wait_for("/pause", count=N)
    function.close()  # SIGTERM, as Lambda ends the environment
    output = function.output
    for request_id in ids:
        said = [
            line
            for line in json_lines(output)
            if line.get("requestId") == request_id and "SIGTERM received" in line["message"]
        ]
        assert len(said) == 1, output[-3000:]
        assert "deferred callback call was running; not started: report" in said[0]["message"]
    hooks = [line for line in output.splitlines() if line.startswith("shutdown hook ran in pid")]
    assert len(hooks) == N and len(set(hooks)) == N  # once in each worker


def test_an_init_failure_is_reported_and_logged_once(emulator):
    function = emulator("broken.handler", max_concurrency=N, timeline=None)
    result = function.invoke({})
    assert result.json()["errorMessage"] == "broken at import"
    function.wait_idle()
    output = function.wait_output("broken at import")
    assert output.count("LAMBDA_WARNING: Unhandled exception") == 1
    assert output.count('"errorMessage": "broken at import"') == 1


class TelemetrySocket:
    """A Unix socket standing in for Lambda's log egress: what arrives on each connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(64)
        self._received = threading.Condition()
        self.data = b""
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with self._received:
                    self.data += chunk
                    self._received.notify_all()

    def wait_for(self, text: bytes, timeout: float = 15.0) -> bytes:
        with self._received:
            if not self._received.wait_for(lambda: text in self.data, timeout):
                raise AssertionError(f"{text!r} never arrived: {self.data[-2000:]!r}")
            return self.data

    def close(self) -> None:
        self._server.close()


def test_workers_log_to_the_telemetry_socket_when_lambda_gives_one(emulator, tmp_path):
    sink = TelemetrySocket(str(tmp_path / "telemetry.sock"))
    try:
        function = emulator(
            "concurrent.work",
            max_concurrency=2,
            env={"_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET": sink.path},
            timeline=None,
        )
        result = function.invoke({"n": 7})
        request_id = result.headers["x-amzn-requestid"]
        data = sink.wait_for(b"thread's callback for n=7")
        sink.wait_for(b"invocation done")
        lines = json_lines(data.decode())
        assert {line["requestId"] for line in lines if "n=7" in line["message"]} == {request_id}
        function.wait_idle()
        assert "callback for n=7" not in function.output  # not on stdout
    finally:
        sink.close()


def test_a_worker_that_exits_leaves_the_others_serving(emulator):
    function = emulator("concurrent.dispatch", max_concurrency=2, timeline=None)
    function.wait_ready(2)
    gone = function.invoke({"do": "exit"})
    assert gone.json()["errorType"] == "SystemExit"  # the caller has its answer first
    function.wait_idle()  # the emulator saw the worker go: its invocation has ended
    assert function.timelines[-1].status == "exited"
    output = function.wait_output("exited with status 3; 1 of 2 go on serving")
    assert function.invoke({"do": "work", "n": 5}).json()["n"] == 5
    line = next(line for line in json_lines(output) if "go on serving" in line.get("message", ""))
    assert line["level"] == "WARNING"
