"""The handler contract and deferred callbacks, as the Runtime API sees them.

Every test drives the real `./bootstrap` against a loopback Runtime API that records each request
in order; callbacks post marks to the same server, so order is read off one timeline.
"""

import json

pytest_plugins = ["fake_api"]


def until_next(n: int):
    """Predicate: the runtime has asked for its n-th event."""
    return lambda records: sum(r.path.endswith("/invocation/next") for r in records) >= n


def test_response_is_posted_before_callbacks_and_callbacks_before_next(runtime):
    api, _ = runtime("basic.with_callbacks")
    request_id = api.push({"x": 1})
    api.wait_for(until_next(2))

    assert api.paths() == [
        "/invocation/next",
        f"/invocation/{request_id}/response",
        "/mark/first",
        "/mark/second",
        "/mark/third",
        "/mark/second-child",  # deferred from a callback: after those already queued
        "/invocation/next",
    ]
    assert api.outcome(request_id).json() == {"ack": True}


def test_event_and_result_round_trip_as_json(runtime):
    api, _ = runtime("basic.echo")
    request_id = api.push({"text": "héllo", "n": [1, 2.5, None]})
    response = api.outcome(request_id)
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == {
        "event": {"text": "héllo", "n": [1, 2.5, None]},
        "request_id": request_id,
    }
    assert "héllo".encode() in response.body  # UTF-8 kept, as the managed 3.12 runtime does


def test_async_handler_and_async_callbacks(runtime):
    api, _ = runtime("basic.async_handler")
    request_id = api.push({})
    api.wait_for(until_next(2))
    assert api.outcome(request_id).json() == {"async": True}
    assert api.paths()[1:4] == [
        f"/invocation/{request_id}/response",
        "/mark/async-callback",
        "/mark/sync-callback",
    ]


def test_failing_callback_is_logged_and_the_rest_still_run(runtime):
    api, proc = runtime("basic.failing_callback")
    first = api.push({})
    api.wait_for(until_next(2))
    second = api.push({})
    api.wait_for(until_next(3))

    assert api.paths().count("/mark/after-failure") == 2
    output = proc.wait_output(f"\t{second}\tinvocation done")
    failure = next(line for line in output.split("\n") if "callback broke" in line)
    assert failure.startswith("[ERROR]\t")
    assert f"\t{first}\tdeferred callback fail failed" in failure
    assert "Traceback" in failure and "RuntimeError: callback broke" in failure
    assert "\r" in failure  # the traceback stays one log event
    assert "callbacks_run=2 failed=1 skipped=0 discarded=0" in output


def test_handler_exception_posts_the_managed_runtime_error_payload(runtime):
    api, proc = runtime("basic.nested_raise")
    request_id = api.push({})
    error = api.outcome(request_id)

    assert error.path.endswith(f"/invocation/{request_id}/error")
    assert error.headers["lambda-runtime-function-error-type"] == "Unhandled"
    payload = error.json()
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'missing'"
    assert payload["requestId"] == request_id
    trace = payload["stackTrace"]
    # format_list entries, user frames only: the handler first, then the helper it called
    assert trace[0].startswith('  File "') and "basic.py" in trace[0]
    assert ", in nested_raise\n    return _helper(event)\n" in trace[0]
    assert ", in _helper\n" in trace[1]
    assert all("/runtime/" not in entry for entry in trace)
    cause = json.loads(error.headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "KeyError"

    output = proc.wait_output("[ERROR] KeyError: 'missing'\rTraceback (most recent call last):")
    assert "\u00a0\u00a0File" in output  # indentation as the managed runtime writes it


def test_callbacks_of_a_failed_invocation_are_discarded_unless_always(runtime):
    api, proc = runtime("basic.raising")
    request_id = api.push({})
    api.wait_for(until_next(2))

    assert api.paths() == [
        "/invocation/next",
        f"/invocation/{request_id}/error",
        "/mark/cleanup",
        "/invocation/next",
    ]
    assert api.outcome(request_id).json()["errorType"] == "ValueError"
    output = proc.wait_output("invocation done")
    assert "deferred callback mark discarded: the invocation failed (ValueError)" in output
    assert "callbacks_run=1 failed=0 skipped=0 discarded=1" in output


def test_unserialisable_result_is_a_marshal_error_and_the_runtime_goes_on(runtime):
    api, proc = runtime("basic.unserialisable")
    request_id = api.push({})
    error = api.outcome(request_id)
    assert error.headers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    assert error.json() == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }
    api.wait_for(until_next(2))
    assert "/mark/discarded" not in api.paths()
    assert proc.proc.poll() is None


def test_oversize_result_is_an_error_and_the_process_stays_alive(runtime):
    api, proc = runtime("basic.oversize")
    too_big = api.push({"size": 6 * 1024 * 1024 + 200})
    error = api.outcome(too_big)
    assert error.headers["lambda-runtime-function-error-type"] == "Function.ResponseSizeTooLarge"
    assert "exceeded maximum allowed payload size (6291556 bytes)" in error.json()["errorMessage"]
    # Nothing over the limit went out, and the same process serves the next event.
    assert not any(r.path.endswith("/response") for r in api.records)
    fits = api.push({"size": 6 * 1024 * 1024})
    assert len(api.outcome(fits).body) == 6 * 1024 * 1024 + 2  # the JSON string's quotes
    assert proc.proc.poll() is None


def test_event_that_is_not_json_is_an_unmarshal_error(runtime):
    api, _ = runtime("basic.echo")
    request_id = api.push(body=b"{not json")
    error = api.outcome(request_id)
    assert error.json()["errorType"] == "Runtime.UnmarshalError"
    assert error.json()["errorMessage"].startswith("Unable to unmarshal input: Expecting")
    again = api.push({"fine": True})
    assert api.outcome(again).json()["event"] == {"fine": True}


def test_non_json_content_type_reaches_the_handler_as_bytes(runtime):
    api, _ = runtime("basic.event_type")
    request_id = api.push(body=b"raw", headers={"Content-Type": "application/octet-stream"})
    assert api.outcome(request_id).json() == "bytes"


def test_bytes_result_is_posted_as_is(runtime):
    api, _ = runtime("basic.raw_bytes")
    response = api.outcome(api.push({}))
    assert response.body == b"\x00\x01binary"
    assert response.headers["content-type"] == "application/unknown"


def test_callback_is_skipped_when_the_deadline_is_within_the_margin(runtime):
    api, proc = runtime("basic.deadline", LAMBDA_RUNTIME_DEFER_MARGIN_MS="2500")
    api.push({}, timeout_ms=4000)
    api.wait_for(until_next(2))
    assert "/mark/waited" in api.paths()
    assert "/mark/too-late" not in api.paths()
    output = proc.wait_output("invocation done")
    assert "deferred callback mark skipped: " in output
    assert "under the 2500 ms safety margin" in output
    assert "callbacks_run=1 failed=0 skipped=1" in output


def test_timeline_line_marks_only_the_first_invocation_as_cold(runtime):
    api, proc = runtime("basic.with_callbacks")
    first, second = api.push({}), api.push({})
    output = proc.wait_output(f"\t{second}\tinvocation done")
    lines = [line for line in output.split("\n") if "invocation done" in line]
    assert f"\t{first}\t" in lines[0] and "cold_start=true" in lines[0]
    assert f"\t{second}\t" in lines[1] and "cold_start=false" in lines[1]
    assert "callbacks_run=4" in lines[0] and "ack_ms=" in lines[0] and "deferred_ms=" in lines[0]


def test_system_exit_in_a_handler_answers_the_caller_then_ends_the_process(runtime):
    api, proc = runtime("basic.exits")
    request_id = api.push({})
    error = api.outcome(request_id)
    assert error.json()["errorType"] == "SystemExit"
    assert proc.wait_exit() == 3
    assert "/mark/after-exit" not in api.paths()
    assert "deferred callback mark discarded" in proc.output
