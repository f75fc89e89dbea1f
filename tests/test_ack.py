"""`runtime.ack`: the answer posted from inside the handler, the rest of the handler after it.

Through `./bootstrap` on the scripted Runtime API (tests/fake_api.py), which records answers and
the handlers' marks on one timeline, so "posted before the rest ran" is read off that order.
"""

import json
import re
import threading

import pytest
from fake_api import HANDLERS, PREFIX

from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE

pytest_plugins = ["fake_api"]


def timeline(api, request_id: str) -> list[str]:
    """The invocation's answer and marks, in the order the scripted API received them."""
    answer = f"{PREFIX}/invocation/{request_id}/"
    return [
        r.path.removeprefix(answer)
        for r in api.records
        if r.path.startswith(answer) or r.path.startswith("/mark/")
    ]


def done_line(proc, request_id: str) -> str:
    output = proc.wait_output(f"{request_id}\tinvocation done")
    return re.search(rf"{request_id}\tinvocation done: ([^\n]*)", output)[1]


@pytest.mark.parametrize("handler", ["acks.ack_first", "acks.ack_first_async"])
def test_ack_posts_the_answer_before_the_rest_of_the_handler_and_its_callbacks(runtime, handler):
    api, proc = runtime(handler)
    request_id = api.push({})
    answer = api.outcome(request_id).json()
    assert answer["acknowledged"] in (True, "async")
    line = done_line(proc, request_id)
    assert timeline(api, request_id) == ["response", "/mark/rest-of-handler", "/mark/callback"]
    # The rest of the handler counts as one unit of deferred work, beside the callback.
    assert "ack_source=ack" in line and "callbacks_run=2 failed=0" in line


def test_context_ack_is_runtime_ack(runtime):
    api, _ = runtime("acks.ack_through_context")
    request_id = api.push({})
    assert api.outcome(request_id).json() == "through the context"
    api.wait_for(lambda rs: any(r.path == "/mark/rest-of-handler" for r in rs))
    assert timeline(api, request_id) == ["response", "/mark/rest-of-handler"]


def test_a_second_ack_raises_and_posts_nothing(runtime):
    api, proc = runtime("acks.ack_twice")
    request_id = api.push({})
    assert api.outcome(request_id).json() == 1
    output = proc.wait_output(f"{request_id}\tinvocation done")
    assert "second ack refused: this invocation was already acknowledged (by ack())" in output
    assert timeline(api, request_id) == ["response"]


def test_a_raise_after_ack_is_logged_and_counted_and_the_callbacks_still_run(runtime):
    api, proc = runtime("acks.ack_then_raise")
    request_id = api.push({})
    assert api.outcome(request_id).json() == "ok"
    line = done_line(proc, request_id)
    assert "callbacks_run=2 failed=1 skipped=0 discarded=0" in line
    failure = next(
        x for x in proc.output.split("\n") if "the handler failed after acknowledging" in x
    )
    assert failure.startswith("[ERROR]\t") and f"\t{request_id}\t" in failure
    assert "ValueError: after the acknowledgement" in failure and "\rTraceback" in failure
    assert timeline(api, request_id) == ["response", "/mark/callback"]


def test_a_value_returned_after_ack_is_logged_as_discarded(runtime):
    api, proc = runtime("acks.ack_then_return")
    request_id = api.push({})
    assert api.outcome(request_id).json() == "the answer"
    output = proc.wait_output(f"{request_id}\tinvocation done")
    assert (
        "the handler's return value was discarded: the invocation was already acknowledged"
        in output
    )
    assert timeline(api, request_id) == ["response"]


def test_an_ack_that_cannot_be_encoded_fails_the_invocation_as_a_return_value_would(runtime):
    api, proc = runtime("acks.ack_unencodable")
    request_id = api.push({})
    error = api.outcome(request_id)
    assert error.path.endswith("/error") and error.json()["errorType"] == "Runtime.MarshalError"
    line = done_line(proc, request_id)
    assert "ack failed: the acknowledgement was not delivered: the invocation failed" in proc.output
    assert "discarded=1" in line  # the callback: the caller got an error, not an answer
    assert timeline(api, request_id) == ["error"]  # and the handler stopped at its ack


def test_an_ack_the_runtime_api_refuses_stops_the_handler_and_discards_its_callbacks(runtime):
    api, proc = runtime("acks.ack_first")
    api.script("response", (410, b'{"errorMessage":"gone"}'))
    request_id = api.push({})
    api.outcome(request_id)
    line = done_line(proc, request_id)
    assert "discarded=1" in line and "refused the response (HTTP 410)" in proc.output
    assert timeline(api, request_id) == ["response"]


def test_ack_in_a_deferred_callback_is_refused(runtime):
    api, proc = runtime("acks.ack_from_a_callback")
    request_id = api.push({})
    assert api.outcome(request_id).json() == "returned"
    output = proc.wait_output(f"{request_id}\tinvocation done")
    assert "ack in a callback refused: ack() was called outside an invocation's handler" in output


def test_the_deadline_still_governs_the_work_after_ack(runtime):
    """The watchdog names the handler still running after its answer, and work it defers then,
    under the safety margin, is skipped."""
    with LoopbackServer() as held:
        held.hold("/work")
        api, proc = runtime("acks.ack_then_overrun")
        request_id = api.push({"held_url": f"{held.url}/work"}, timeout_ms=1500)
        assert api.outcome(request_id).json() == "ok"
        proc.wait_output("the handler, after its acknowledgement, is still running")
        held.release("/work")
        line = done_line(proc, request_id)
    assert "callbacks_run=1 failed=0 skipped=1" in line
    assert "deferred callback mark skipped" in proc.output


def test_json_logs_say_who_acknowledged(runtime):
    api, proc = runtime("acks.ack_first", AWS_LAMBDA_LOG_FORMAT="JSON")
    request_id = api.push({})
    api.outcome(request_id)
    proc.wait_output('"invocation done')
    done = next(
        json.loads(line)
        for line in proc.output.split("\n")
        if line.startswith("{") and "invocation done" in line
    )
    assert done["ackSource"] == "ack" and done["requestId"] == request_id
    assert done["callbacks"] == {
        "run": 2,
        "failed": 0,
        "skipped": 0,
        "discarded": 0,
        "retried": 0,
        "handedOff": 0,
    }


@pytest.mark.parametrize("handler", ["acks.ack_then_hold", "acks.ack_then_hold_async"])
def test_on_the_emulator_the_caller_has_the_answer_while_the_handler_still_works(emulator, handler):
    with LoopbackServer() as held:
        held.hold("/work")
        function = emulator(handler, HANDLERS, timeline=None)
        result = function.invoke({"held_url": f"{held.url}/work"})
        assert result.json() == {"acknowledged": True}
        held.wait_for("/work")  # the handler is still in its work, past the caller's answer
        assert "rest of the handler done" not in function.output
        held.release("/work")
        function.wait_idle()
    assert "rest of the handler done" in function.output
    assert function.timelines[-1].deferred_ms is not None


def test_under_the_real_rie_the_answer_is_posted_before_the_rest_of_the_handler_runs():
    """RIE hands the caller its answer only at the next `/next`; what shows here is the Runtime
    API traffic in its log: the `/response` POST, then the handler's remaining work."""
    with LoopbackServer() as held, RIE("acks.ack_then_hold", HANDLERS) as function:
        held.hold("/work")
        answer: list = []
        invoking = threading.Thread(
            target=lambda: answer.append(function.invoke({"held_url": f"{held.url}/work"}))
        )
        invoking.start()
        held.wait_for("/work")
        output = function.wait_output("/response")
        assert "rest of the handler done" not in output
        held.release("/work")
        invoking.join(30)
        output = function.wait_output("invocation done")
    assert answer[0].json() == {"acknowledged": True}
    posted = output.index("/response")
    assert posted < output.index("rest of the handler done") < output.index("invocation done")
