"""Streamed responses through the emulator, read as callers read them: a Function URL over plain
HTTP, boto3's `invoke_with_response_stream`, and the buffered Invoke API.

RIE hands a streamed response over whole and drops its error trailers (the last test shows it),
so the emulator is where streaming shows end to end. Each test pauses the handler between chunks
on a URL it holds, so "the caller reads the first chunk while the handler still produces" is an
observed fact, not a timing.
"""

import http.client
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "tests" / "emulator_handlers"


@pytest.fixture
def held():
    with LoopbackServer() as server:
        server.hold("/pause")
        yield server


def lambda_client(function):
    return boto3.client(
        "lambda",
        endpoint_url=f"http://{function.invoke_address}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


def connect(function) -> http.client.HTTPConnection:
    host, port = function.invoke_address.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def test_a_function_url_caller_reads_each_line_as_the_handler_writes_it(emulator, held):
    function = emulator("streaming.report", timeline=None)
    event_url = f"{held.url}/pause"
    conn = connect(function)
    # The held URL reaches the handler in the event: a Function URL request's query string.
    conn.request("GET", f"/reports/weekly?held_url={event_url}")
    response = conn.getresponse()
    held.wait_for("/pause")
    assert response.status == 201
    assert response.getheader("Content-Type") == "text/plain"
    assert response.getheader("X-Report") == "weekly"
    assert response.headers.get_all("Set-Cookie") == ["session=abc; Secure", "theme=dark"]
    assert response.readline() == b"first line\n"  # while the handler waits on the held URL
    assert "notified after the last line" not in function.output
    held.release("/pause")
    assert response.read() == b"second line\n"
    function.wait_output("notified after the last line")
    function.wait_idle()
    timeline = function.timelines[-1]
    assert timeline.status == "ok" and timeline.streamed and timeline.first_byte_ms is not None
    assert "streamed" in timeline.line() and "first byte" in timeline.line()


def test_boto3_reads_every_chunk_and_the_invoke_complete(emulator, held):
    function = emulator("streaming.report", timeline=None)
    client = lambda_client(function)
    answer = client.invoke_with_response_stream(
        FunctionName="reports", Payload=json.dumps({"held_url": f"{held.url}/pause"})
    )
    assert answer["StatusCode"] == 200
    assert (
        answer["ResponseStreamContentType"] == "application/vnd.awslambda.http-integration-response"
    )
    events = iter(answer["EventStream"])
    first = next(events)["PayloadChunk"]["Payload"]
    held.wait_for("/pause")  # the first chunk was read while the handler waits
    prelude, _, body = first.partition(b"\0" * 8)
    assert json.loads(prelude)["statusCode"] == 201 and body == b"first line\n"
    held.release("/pause")
    rest = list(events)
    assert rest == [{"PayloadChunk": {"Payload": b"second line\n"}}, {"InvokeComplete": {}}]
    function.wait_output("notified after the last line")


def test_boto3_sees_a_mid_stream_error_in_the_invoke_complete(emulator):
    function = emulator("streaming.fails_mid_stream", timeline=None)
    answer = lambda_client(function).invoke_with_response_stream(FunctionName="f", Payload=b"{}")
    events = list(answer["EventStream"])
    assert events[0] == {"PayloadChunk": {"Payload": b"partial\n"}}
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Function.ValueError"
    details = json.loads(complete["ErrorDetails"])
    assert details["errorType"] == "ValueError"
    assert details["errorMessage"] == "the source went away"
    function.wait_idle()
    assert function.timelines[-1].status == "error"
    assert "this callback is discarded" not in function.wait_output("invocation done")


def test_boto3_streams_a_buffered_handlers_answer_as_one_chunk(emulator):
    function = emulator("handlers.echo", timeline=None)
    answer = lambda_client(function).invoke_with_response_stream(
        FunctionName="f", Payload=b'{"a": 1}'
    )
    events = list(answer["EventStream"])
    assert json.loads(events[0]["PayloadChunk"]["Payload"])["event"] == {"a": 1}
    assert events[1:] == [{"InvokeComplete": {}}]


def test_the_buffered_invoke_api_gets_the_whole_stream_or_its_error(emulator):
    function = emulator("streaming.raw", timeline=None)
    result = function.invoke({})
    assert result.status == 200 and result.function_error is None
    assert result.body == b"row 0\nrow 1\nrow 2\n"
    assert result.headers["content-type"] == "text/plain"
    failing = emulator("streaming.fails_mid_stream", timeline=None)
    error = failing.invoke({})
    assert error.function_error == "Unhandled"
    assert error.json()["errorMessage"] == "the source went away"


def test_a_function_url_stream_cut_off_by_an_error_ends_without_its_final_chunk(emulator):
    function = emulator("streaming.fails_mid_stream", timeline=None)
    conn = connect(function)
    conn.request("GET", "/?http=1")
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial == b"partial\n"


def test_a_function_url_request_becomes_a_payload_2_event_and_a_buffered_answer_http(emulator):
    function = emulator("streaming.echo_request", timeline=None)
    conn = connect(function)
    conn.request("POST", "/orders/7?expand=items", b"{}", {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 202
    assert response.getheader("Set-Cookie") == "seen=1"
    assert json.loads(response.read()) == {
        "method": "POST",
        "path": "/orders/7",
        "query": "expand=items",
    }


def test_the_streaming_example_sends_its_report_then_notifies_slack(emulator):
    with LoopbackServer() as slack:
        function = emulator(
            "handler_example/report.handler",
            ROOT,
            env={"REPORT_WEBHOOK_URL": f"{slack.url}/webhook"},
            timeline=None,
        )
        conn = connect(function)
        conn.request("GET", "/report?days=3")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/csv; charset=utf-8"
        lines = response.read().decode().splitlines()
        assert lines[0] == "day,orders,revenue" and len(lines) == 4
        posted = slack.wait_for("/webhook")
        assert json.loads(posted.body) == {"text": "Report sent: 3 days of orders (of 3 asked)."}
        conn.request("GET", "/report?days=many")
        refused = conn.getresponse()
        assert refused.status == 400 and refused.read() == b"days must be a whole number\n"


def test_under_the_real_rie_a_stream_arrives_whole_and_its_error_trailers_are_lost():
    """What the README says RIE shows of a stream: it takes the chunked post, but hands the
    caller the body in one piece at the next `/next`, and drops the error trailers."""
    with RIE("streaming.fails_mid_stream", HANDLERS) as function:
        result = function.invoke({})
        function.wait_output("invocation done")
    assert result.status == 200 and result.function_error is None
    assert result.body == b"partial\n"
    assert "content-length" in result.headers


def test_a_stream_still_going_at_the_timeout_ends_with_the_timeout_error(emulator, held):
    function = emulator("streaming.report", timeline=None, function_timeout_s=1.5)
    answer = lambda_client(function).invoke_with_response_stream(
        FunctionName="f", Payload=json.dumps({"held_url": f"{held.url}/pause"})
    )
    events = list(answer["EventStream"])  # the handler never gets past its first line
    assert b"first line\n" in events[0]["PayloadChunk"]["Payload"]
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert "the stream was cut off" in json.loads(complete["ErrorDetails"])["errorMessage"]
    function.wait_idle()
    assert function.timelines[-1].timed_out
