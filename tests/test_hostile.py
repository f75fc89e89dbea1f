"""Hostile and unlucky inputs, each of which once ended the process or lost deferred work.

Scripted loopback Runtime API (`fake_api`): the faults need exact headers, signals at a known
moment, and the runtime's output read line by line. Each test waits on a request reaching the
fake API or on a log line, never on a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from test_loop import until_next

pytest_plugins = ["fake_api"]

HANDLERS_FILE = "hostile.py"


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_an_error_message_stdout_cannot_encode_is_answered_and_the_process_lives(
    runtime, log_format
):
    api, proc = runtime("hostile.unknown_action", AWS_LAMBDA_LOG_FORMAT=log_format)
    first = api.push(None, body=b'{"action": "\\ud800"}')  # valid JSON, a lone surrogate
    error = api.outcome(first)
    assert error.path.endswith("/error")
    payload = json.loads(error.body)
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"].startswith("unknown action ")
    proc.wait_output("deferred callback mark discarded: the invocation failed (ValueError)")
    second = api.push({"action": "fine"})
    assert json.loads(api.outcome(second).body)["errorMessage"] == "unknown action fine"
    assert proc.proc.poll() is None
    assert "\\ud800" in proc.wait_output("\\ud800")  # written escaped, not raised


def test_an_exception_whose_str_raises_is_still_an_error_payload(runtime):
    api, proc = runtime("hostile.unprintable")
    error = api.outcome(api.push({}))
    payload = error.json()
    assert payload["errorType"] == "Unprintable"
    assert payload["errorMessage"] == "<exception str() failed: Unprintable>"
    assert api.outcome(api.push({})).path.endswith("/error")  # and it serves on
    assert proc.proc.poll() is None


def test_a_cancelled_async_handler_is_one_failed_invocation(runtime):
    api, proc = runtime("hostile.cancelled")
    error = api.outcome(api.push({}))
    assert error.json()["errorType"] == "CancelledError"
    assert api.outcome(api.push({})).json()["errorType"] == "CancelledError"
    assert proc.proc.poll() is None


def test_a_cancelled_async_callback_fails_alone_and_the_next_one_runs(runtime):
    api, proc = runtime("hostile.cancelled_callback")
    request_id = api.push({})
    api.wait_for(lambda rs: any(r.path == "/mark/after-cancelled" for r in rs))
    output = proc.wait_output(f"{request_id}\tinvocation done")
    assert "deferred callback _cancelled_callback failed" in output
    assert "failed=1" in output and proc.proc.poll() is None


@pytest.mark.parametrize("digits", [20, 300, 5000])
def test_a_deadline_with_too_many_digits_is_malformed_not_fatal(runtime, digits):
    api, proc = runtime("hostile.with_mark")
    request_id = api.push({"mark": "ran"}, headers={"Lambda-Runtime-Deadline-Ms": "9" * digits})
    api.wait_for(lambda rs: any(r.path == "/mark/ran" for r in rs))
    assert api.outcome(request_id).body == b'"ack"'
    proc.wait_output("Lambda-Runtime-Deadline-Ms is malformed ('9999")
    assert "assuming a 3000 ms deadline" in proc.output
    api.wait_for(until_next(2))
    assert proc.proc.poll() is None


def test_a_deadline_far_in_the_future_does_not_break_the_watchdog(runtime):
    api, proc = runtime("hostile.with_mark")
    request_id = api.push({"mark": "far"}, headers={"Lambda-Runtime-Deadline-Ms": "9" * 16})
    api.wait_for(lambda rs: any(r.path == "/mark/far" for r in rs))
    proc.wait_output(f"{request_id}\tinvocation done")
    assert "Traceback" not in proc.output and proc.proc.poll() is None


def test_a_thread_left_running_does_not_keep_an_exiting_process_alive(runtime):
    api, proc = runtime("hostile.leaves_a_thread_then_exits")
    api.outcome(api.push({"exit": False}))  # a non-daemon thread now blocks forever
    assert api.outcome(api.push({"exit": True})).json()["errorType"] == "SystemExit"
    assert proc.wait_exit(timeout=10) == 3


def test_a_fatal_runtime_api_answer_ends_the_process_despite_a_thread(runtime):
    api, proc = runtime("hostile.leaves_a_thread_then_exits")
    api.outcome(api.push({"exit": False}))
    api.events.put(None)  # the /next now waiting is answered 500, as a closing API does
    assert proc.wait_exit(timeout=10) == 1
    assert "exiting: /next answered 500" in proc.output


def test_sigterm_in_the_handler_says_whose_handler_and_what_was_registered(runtime, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    api, proc = runtime("hostile.blocks_in_handler", extensions=True)
    request_id = api.push({"fifo": str(fifo)})
    api.wait_for(lambda rs: any(r.path == "/mark/in-handler" for r in rs))
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait_exit() == 0
    assert (
        f"SIGTERM received while the handler of request {request_id} was running; deferred "
        "callbacks registered, not started: mark"
    ) in proc.output


def test_a_second_sigterm_during_the_hooks_does_not_run_them_again(runtime):
    api, proc = runtime("hostile.with_mark", extensions=True)
    api.wait_for(until_next(1))
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait_exit() == 0
    assert proc.output.count("hook run 1") == 1 and "hook run 2" not in proc.output
    assert "shutdown complete" in proc.output


def test_an_async_handlers_stack_trace_starts_in_its_own_frame(runtime):
    api, _ = runtime("hostile.async_raises")
    trace = api.outcome(api.push({})).json()["stackTrace"]
    assert trace[0].startswith(f'  File "{os.path.dirname(__file__)}/handlers/{HANDLERS_FILE}"')
    assert "async_raises" in trace[0]
    assert not any("asyncio" in entry for entry in trace)


def test_a_defer_racing_the_end_of_the_deferred_phase_either_runs_or_raises():
    """In process, at the one interleaving that lost work: another thread's `defer` lands while
    the runtime is deciding that the batch has nothing left (here: inside its length check).
    It must either be taken and run, or be refused with RuntimeError; never return and vanish.
    The other thread is given 0.5 s: with the lock it waits for the batch to close."""
    from lambda_ack import deferred
    from lambda_ack.deferred import phase

    ran: list[str] = []
    said: list[str] = []

    def late_defer() -> None:
        try:
            deferred.defer(ran.append, "late")
            said.append("returned")
        except RuntimeError:
            said.append("refused")

    racer = threading.Thread(target=late_defer)

    class RacingCallbacks(list):
        def __len__(self) -> int:
            length = super().__len__()
            if batch.position == 1 and not racer.is_alive() and not said:
                racer.start()
                racer.join(0.5)
            return length

    batch = deferred.open_batch("req-race")
    batch.callbacks = RacingCallbacks()
    deferred.defer(ran.append, "first")
    far = int(time.time() * 1000) + 60_000
    phase.run_batch(batch, far, 0, None)
    racer.join(10)

    assert said in (["refused"], ["returned"])
    assert ran == (["first"] if said == ["refused"] else ["first", "late"])


PEM = "\n".join(
    [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0B",
        "AQEFAASCBKcwggSjAgEAAoIB",
        "-----END PRIVATE KEY-----",
    ]
)
QUOTED = 'pa"ss\\word-with-quotes'


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_secrets_are_masked_in_every_form_the_process_writes(runtime, log_format):
    api, proc = runtime(
        "hostile.leaks_every_way",
        AWS_LAMBDA_LOG_FORMAT=log_format,
        MY_PEM=PEM,
        MY_QUOTED=QUOTED,
        LAMBDA_RUNTIME_REDACT="MY_PEM,MY_QUOTED",
    )
    request_id = api.push({})
    assert api.outcome(request_id).body == b'"ack"'
    output = proc.wait_output("invocation done")
    body_lines = PEM.splitlines()[1:-1]
    for fragment in [*body_lines, 'pa"ss', 'pa\\"ss', "ss\\word", "ss\\\\word", "word-with-quotes"]:
        assert fragment not in output, (fragment, output)
    assert "--- Logging error ---" in output  # logging's report reached stderr, masked
    assert " was split" in output and output.count("[REDACTED]") >= 8


def ran_before_next(api, name: str, n: int) -> bool:
    """The mark arrived before the runtime asked for its n-th event."""
    paths = api.paths()
    nexts = [i for i, p in enumerate(paths) if p == "/invocation/next"]
    return f"/mark/{name}" in paths and paths.index(f"/mark/{name}") < nexts[n - 1]


def test_tasks_an_async_handler_did_not_await_run_in_its_invocation(runtime):
    api, proc = runtime("hostile.leaves_a_task")
    api.push({})
    api.wait_for(until_next(2))
    assert ran_before_next(api, "task-finished", 2)


def test_a_task_that_never_finishes_is_cancelled_at_the_margin_and_named(runtime):
    api, proc = runtime("hostile.leaves_a_task", LAMBDA_RUNTIME_DEFER_MARGIN_MS="500")
    request_id = api.push({"stuck": True}, timeout_ms=1500)
    api.wait_for(until_next(2))
    assert ran_before_next(api, "task-finished", 2)
    output = proc.wait_output(f"{request_id}\tinvocation done")
    assert "asyncio task stuck-task cancelled: still running at the deadline's 500 ms" in output


def test_a_task_left_from_an_earlier_invocation_cannot_defer_into_a_later_one(runtime):
    api, proc = runtime("hostile.task_outlives_its_invocation")
    api.outcome(api.push({}, timeout_ms=1000))
    proc.wait_output("asyncio task stubborn ignored its cancellation")
    api.outcome(api.push({}))
    api.wait_for(lambda rs: any(r.path == "/mark/task-defer-refused" for r in rs))
    assert "/mark/task-defer-accepted" not in api.paths()


def test_a_thread_left_from_an_earlier_invocation_cannot_defer_into_a_later_one(runtime):
    api, _ = runtime("hostile.thread_outlives_its_invocation")
    api.outcome(api.push({"start": True}))
    api.outcome(api.push({}))
    api.wait_for(lambda rs: any(r.path == "/mark/thread-defer-refused" for r in rs))
    assert "/mark/thread-defer-accepted" not in api.paths()


def test_a_thread_pool_worker_defers_for_the_invocation_that_gave_it_work(runtime):
    api, _ = runtime("hostile.pool_worker_defers")
    for n in (1, 2, 3):
        api.push({"n": n})
    api.wait_for(until_next(4))
    for n in (1, 2, 3):
        assert ran_before_next(api, f"pool-{n}", n + 1)
