"""`./bootstrap` under the real Runtime Interface Emulator, the reference for the protocol.

Invokes go one at a time: this RIE crashes on concurrent invokes.
"""

import os
import re

import pytest
from fake_api import HANDLERS

from lambda_ack.cli.local.rie import RIE


@pytest.fixture
def rie():
    started: list[RIE] = []

    def start(handler: str, **kwargs) -> RIE:
        emulator = RIE(handler, HANDLERS, **kwargs)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.close()


def test_successful_invoke(rie):
    result = rie("basic.echo").invoke({"hello": "rie"})
    assert result.status == 200 and result.function_error is None
    assert result.json()["event"] == {"hello": "rie"}


def test_handler_exception_reaches_the_caller_as_the_error_json(rie):
    result = rie("basic.nested_raise").invoke({})
    error = result.json()
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'"
    assert re.fullmatch(r"[0-9a-f-]{36}", error["requestId"])
    assert ", in nested_raise\n" in error["stackTrace"][0]


def test_init_failure_reaches_the_caller(rie):
    error = rie("nowhere.handler").invoke({}).json()
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"


def test_callbacks_run_after_the_response_and_finish_before_the_next_invoke(rie, tmp_path):
    journal = str(tmp_path / "journal")
    emulator = rie("rie_cases.journaled")
    first = emulator.invoke({"journal": journal, "n": 1}).json()
    second = emulator.invoke({"journal": journal, "n": 2}).json()
    assert first["journal_on_arrival"] == ""
    # The second event found the first one's callback already done.
    assert second["journal_on_arrival"] == "handler 1\ncallback 1\n"
    assert first["pid"] == second["pid"]
    # And the callback ran after RIE had the response: RIE logs the POST before the runtime's
    # summary line for that invocation, which is written once the callbacks are through.
    output = emulator.wait_output("callbacks_run=1 failed=0")
    posted = output.index("/response, Headers")
    assert posted < output.index("invocation done: ") < output.index("callbacks_run=1 failed=0")


def test_function_timeout_kills_a_runtime_stuck_in_deferred_work(rie, tmp_path):
    journal = tmp_path / "pids"
    emulator = rie("rie_cases.stuck", function_timeout_s=2)
    first = emulator.invoke({"journal": str(journal), "stuck": True})
    # RIE holds the answer until the runtime asks for the next event, which never happens.
    assert "Task timed out after 2.00 seconds" in first.body.decode()
    stuck_pid = int(journal.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(stuck_pid, 0)  # killed, not left running beside the new one
    # RIE answers the caller while it still resets the sandbox; an invoke in that window gets
    # Sandbox.Failure. Its REPORT line comes once the reset is through.
    emulator.wait_output("REPORT RequestId")
    second = emulator.invoke({})
    assert second.status == 200 and second.json()["pid"] != stuck_pid
    assert emulator.wait_output("cold_start=true")  # the fresh runtime's first invocation
    # RIE sent SIGTERM before the kill (the runtime registered its extension for that), and
    # the runtime said which deferred callback it was in, and warned shortly before.
    output = emulator.output
    assert "SIGTERM received: deferred callback Event.wait was running" in output
    assert "deferred callback Event.wait is still running" in output


def test_oversize_response_leaves_the_runtime_alive(rie):
    emulator = rie("rie_cases.sized")
    too_big = emulator.invoke({"size": 7 * 1024 * 1024}).json()
    assert too_big["errorType"] == "Function.ResponseSizeTooLarge"
    first_pid = emulator.invoke({"size": 10}).json()["pid"]
    assert emulator.invoke({}).json()["pid"] == first_pid
    assert emulator.output.count("INIT START") == 1


def test_runtime_crash_is_reported_and_the_next_invoke_reinitialises(rie):
    emulator = rie("rie_cases.crash")
    crashed = emulator.invoke({})
    assert crashed.json()["errorType"] == "Runtime.ExitError"
    again = emulator.invoke({})
    assert again.json()["errorType"] == "Runtime.ExitError"
    emulator.wait_output("INIT START", count=2)  # RIE's line may still be in the pipe
