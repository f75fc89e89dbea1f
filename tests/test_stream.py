"""`runtime.Stream`: the response sent chunk by chunk, the deferred work after its last byte.

Through `./bootstrap` on the scripted Runtime API (tests/fake_api.py): RIE hands a streamed
response over whole and drops its trailers, while the scripted API records each chunk as it
arrives, and the trailers, so "sent while the handler still produces" and "after the last byte"
are read off its records.
"""

import base64
import json
import re

import pytest
from fake_api import PREFIX

from lambda_ack.cli.local.loopback import LoopbackServer

pytest_plugins = ["fake_api"]

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
MIB = 1024 * 1024


def response_of(api, request_id: str):
    path = f"{PREFIX}/invocation/{request_id}/response"
    return api.wait_for(lambda rs: next((r for r in rs if r.path == path), None))


def completed(api, record):
    api.wait_for(lambda _: record.complete)
    return record


def mark_of(api, name: str):
    return api.wait_for(lambda rs: next((r for r in rs if r.path == f"/mark/{name}"), None))


def done_line(proc, request_id: str) -> str:
    output = proc.wait_output(f"{request_id}\tinvocation done")
    return re.search(rf"{request_id}\tinvocation done: ([^\n]*)", output)[1]


def split_prelude(body: bytes) -> tuple[dict, bytes]:
    prelude, sep, rest = body.partition(b"\0" * 8)
    assert sep, body[:200]
    return json.loads(prelude), rest


def decoded_trailers(record) -> tuple[str, dict]:
    body = base64.b64decode(record.trailers["lambda-runtime-function-error-body"])
    return record.trailers["lambda-runtime-function-error-type"], json.loads(body)


def test_each_chunk_is_sent_as_the_handler_yields_it_and_the_callbacks_run_after_the_last(runtime):
    with LoopbackServer() as held:
        held.hold("/pause")
        api, proc = runtime("streams.report")
        request_id = api.push({"held_url": f"{held.url}/pause"})
        response = response_of(api, request_id)
        api.wait_for(lambda _: response.chunks)
        held.wait_for("/pause")  # the handler is between its two lines
        assert len(response.chunks) == 1 and not response.complete
        meta, body = split_prelude(response.chunks[0][1])
        assert body == b"first line\n"
        held.release("/pause")
        completed(api, response)

    assert meta == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Report": "weekly"},
        "cookies": ["session=abc; Secure", "theme=dark"],
    }
    assert split_prelude(response.body)[1] == b"first line\nsecond line\n"
    assert response.headers["content-type"] == HTTP_INTEGRATION
    assert response.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["trailer"] == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert response.trailers == {}
    after = mark_of(api, "after-stream")
    assert after.at > response.chunks[-1][0]
    # The stream's connection is closed after it: the next /next comes on a new one.
    next_call = api.wait_for(
        lambda rs: [r for r in rs if r.path.endswith("/invocation/next")][1:2]
    )[0]
    assert next_call.peer_port != response.peer_port
    line = done_line(proc, request_id)
    assert "ack_source=return ttfb_ms=" in line
    assert f"stream_bytes={len(response.body)} " in line
    assert re.search(r"stream_ms=\d+\.\d\d deferred_ms=", line)
    assert "callbacks_run=1 failed=0" in line


def test_a_raw_stream_is_the_bytes_as_they_are_with_its_content_type(runtime):
    api, proc = runtime("streams.raw")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.body == b'{"row": 0}\n{"row": 1}\n{"row": 2}\n'
    assert [c for _, c in response.chunks] == [b'{"row": %d}\n' % i for i in range(3)]
    mark_of(api, "after-stream")


def test_an_async_handler_streams_an_async_generator(runtime):
    api, proc = runtime("streams.async_stream")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    meta, body = split_prelude(response.body)
    assert meta["statusCode"] == 200 and meta["headers"] == {"Content-Type": "text/plain"}
    assert body == b"async 0\nasync 1\nasync 2\n"
    mark_of(api, "after-stream")


def test_an_error_before_the_first_byte_is_an_ordinary_error(runtime):
    api, proc = runtime("streams.fails_before_the_first_byte")
    request_id = api.push({})
    outcome = api.outcome(request_id)
    assert outcome.path.endswith("/error")
    assert outcome.headers["lambda-runtime-function-error-type"] == "Unhandled"
    error = outcome.json()
    assert error["errorType"] == "LookupError"
    assert error["errorMessage"] == "no report for this week"
    line = done_line(proc, request_id)
    assert "discarded=1" in line
    assert not any(r.path == "/mark/discarded" for r in api.records)


@pytest.mark.parametrize("handler", ["streams.fails_mid_stream", "streams.fails_mid_stream_async"])
def test_an_error_after_the_first_byte_ends_the_stream_with_trailers(runtime, handler):
    api, proc = runtime(handler)
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.body.endswith(b"partial ")
    error_type, error = decoded_trailers(response)
    assert error_type == "Function.ValueError"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the source went away"
    assert any("rows" in frame for frame in error["stackTrace"])
    line = done_line(proc, request_id)
    assert "discarded=1" in line
    # Logged as the managed runtime logs a failed invocation, traceback included.
    assert "[ERROR] ValueError: the source went away\rTraceback" in proc.output
    assert not any(r.path == "/mark/discarded" for r in api.records)
    if handler == "streams.fails_mid_stream":
        mark_of(api, "always")  # `always=True` runs after a failed invocation too
        assert "callbacks_run=1" in line


def test_a_chunk_that_is_not_bytes_or_text_ends_the_stream_with_a_type_error(runtime):
    api, proc = runtime("streams.yields_a_non_bytes_chunk")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.body == b"ok "
    error_type, error = decoded_trailers(response)
    assert error_type == "Function.TypeError"
    assert error["errorMessage"] == "a Stream body yields bytes or str, got int"


def test_past_200_mb_the_stream_ends_with_an_error_and_the_runtime_goes_on(runtime):
    api, proc = runtime("streams.endless")
    api.keep_streams = False
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.size == 200 * MIB  # 25 chunks of 8 MiB; the 26th would pass the limit
    error_type, error = decoded_trailers(response)
    assert error_type == "Function.ResponseSizeTooLarge"
    assert "exceeded maximum allowed payload size (209715200 bytes)" in error["errorMessage"]
    assert "discarded=1" in done_line(proc, request_id)
    second = api.push({})  # the same process serves the next event
    assert completed(api, response_of(api, second)).size == 200 * MIB
    assert proc.proc.poll() is None


def test_a_100_mb_stream_grows_the_runtimes_peak_memory_by_under_10_mib(runtime):
    api, proc = runtime("streams.sized")
    api.keep_streams = False
    request_id = api.push({"mib": 100})
    assert completed(api, response_of(api, request_id)).size == 100 * MIB
    output = proc.wait_output("peak RSS before")
    before, after = map(
        int, re.search(r"peak RSS before (\d+) KiB, after (\d+) KiB", output).groups()
    )
    assert after - before < 10 * 1024, (before, after)


def test_ack_of_a_stream_sends_it_and_then_runs_the_rest_of_the_handler(runtime):
    api, proc = runtime("streams.ack_a_stream")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.body == b"streamed ack"
    rest, callback = mark_of(api, "rest-of-handler"), mark_of(api, "callback")
    assert response.chunks[-1][0] < rest.at < callback.at
    line = done_line(proc, request_id)
    assert "ack_source=ack ttfb_ms=" in line and "callbacks_run=2 failed=0" in line


def test_an_ack_from_inside_a_streams_body_is_refused_not_deadlocked(runtime):
    api, proc = runtime("streams.ack_inside_the_body")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert (
        response.body
        == b"refused: this invocation was already acknowledged (by ack()); ack() answers once"
    )


def test_json_logs_give_the_streams_figures(runtime):
    api, proc = runtime("streams.raw", AWS_LAMBDA_LOG_FORMAT="JSON")
    request_id = api.push({})
    completed(api, response_of(api, request_id))
    output = proc.wait_output('"invocation done')
    done = next(
        json.loads(line)
        for line in output.splitlines()
        if '"invocation done' in line and request_id in line
    )
    stream = done["stream"]
    assert stream["bytes"] == 33 and stream["ttfbMs"] > 0 and stream["streamMs"] >= 0
    assert done["ackSource"] == "return"


@pytest.mark.parametrize("value", ["datetime", "decimal"])
@pytest.mark.parametrize("how", ["return", "ack"])
def test_a_prelude_json_cannot_write_is_an_ordinary_error_and_the_runtime_serves_on(
    runtime, value, how
):
    api, proc = runtime("streams.unencodable_prelude")
    request_id = api.push({"value": value, "how": how})
    outcome = api.outcome(request_id)
    assert outcome.path.endswith("/error"), outcome
    error = outcome.json()
    assert error["errorType"] == "Runtime.MarshalError"
    assert "X-When" not in error["errorMessage"]  # the message names the fault, not the value
    assert "Unable to marshal the Stream's status, headers or cookies" in error["errorMessage"]
    assert "discarded=1" in done_line(proc, request_id)
    # Nothing was streamed, and the process lives on: the next event is served.
    assert not any(r.chunks for r in api.records)
    assert api.outcome(api.push({"value": value, "how": how})).path.endswith("/error")
    assert proc.proc.poll() is None
    assert not any(r.path.startswith("/mark/") for r in api.records)


def test_a_stream_survives_a_connection_the_runtime_api_closed_while_the_handler_ran(runtime):
    """Scripted: the API closes the kept-alive connection of the `/next` it answered, and the
    handler returns its Stream only once that is done; a buffered answer would be retried on a
    fresh connection, and so is the stream, since none of it had reached the peer."""
    api, proc = runtime("streams.after_a_hang_up")
    api.hang_up_after_next()
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    assert response.body == b"still delivered" and not response.trailers
    mark_of(api, "after-stream")
    (served,) = [r for r in api.records if r.path == f"{PREFIX}/invocation/next"][:1]
    assert response.peer_port != served.peer_port  # a fresh connection carried it
    assert api.outcome(api.push({})).path.endswith("/response")  # and the runtime goes on


def test_an_error_after_the_first_byte_carries_the_request_id_in_trailer_and_log(runtime):
    api, proc = runtime("streams.fails_mid_stream", AWS_LAMBDA_LOG_FORMAT="JSON")
    request_id = api.push({})
    response = completed(api, response_of(api, request_id))
    _, error = decoded_trailers(response)
    assert error["requestId"] == request_id
    output = proc.wait_output('"errorType": "ValueError"')
    logged = next(
        json.loads(line) for line in output.splitlines() if '"errorType": "ValueError"' in line
    )
    assert logged["level"] == "ERROR" and logged["requestId"] == request_id
