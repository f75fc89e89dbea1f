"""`runtime.web`: ASGI and WSGI apps on the runtime, against the adapters users pick today.

The differential test serves one FastAPI app and one Flask app (tests/web_handlers/web_apps.py)
through Mangum and apig-wsgi on this runtime and through `runtime.web` on this runtime, each on
an emulator of its own, with every request of `REQUESTS` in every event shape, and compares the
answers as the client sees them: equal, except for the differences listed in `DIFFERENCES`
(and said in the README), each of which must still show.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_stream_emulator import connect, lambda_client
from web_events import SHAPES, event, seen_by_client

from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer

HANDLERS = Path(__file__).resolve().parent / "web_handlers"
BINARY = bytes(range(256))

# (name, method, path, query, headers, body): the app sees the path and query as given here.
REQUESTS = [
    ("root", "GET", "/echo/", [], [], b""),
    ("encoded-path", "GET", "/echo/a b/c+d", [], [], b""),
    ("unicode-path", "GET", "/echo/grüße", [], [], b""),
    ("query", "GET", "/echo/q", [("a", "1"), ("b", "2")], [], b""),
    ("repeated-query", "GET", "/echo/q", [("tag", "x"), ("tag", "y")], [], b""),
    ("encoded-query", "GET", "/echo/q", [("q", "hello world"), ("amp", "a&b=c")], [], b""),
    ("unicode-query", "GET", "/echo/q", [("name", "grüße")], [], b""),
    ("empty-query-value", "GET", "/echo/q", [("flag", "")], [], b""),
    ("one-header", "GET", "/echo/h", [], [("x-one", "1")], b""),
    ("repeated-header", "GET", "/echo/h", [], [("x-multi", "a"), ("x-multi", "b")], b""),
    ("cookies", "GET", "/echo/c", [], [("cookie", "session=abc; theme=dark")], b""),
    ("json-post", "POST", "/echo/j", [], [("content-type", "application/json")], b'{"x": 1}'),
    ("form-post", "POST", "/echo/f", [], [("content-type", "application/x-www-form-urlencoded")],
     b"a=1&b=two+words"),
    ("binary-put", "PUT", "/echo/b", [], [("content-type", "application/octet-stream")], BINARY),
    ("text-patch", "PATCH", "/echo/t", [], [("content-type", "text/plain; charset=utf-8")],
     "grüße ✓".encode()),
    ("delete", "DELETE", "/echo/d", [], [], b""),
    ("http-scheme", "GET", "/echo/s", [], [("x-forwarded-proto", "http")], b""),
    ("binary-answer", "GET", "/binary", [], [], b""),
    ("text-answer", "GET", "/text", [], [], b""),
    ("xml-answer", "GET", "/xml", [], [], b""),
    ("set-cookies", "GET", "/set-cookies", [], [], b""),
    ("repeated-answer-header", "GET", "/repeated-headers", [], [], b""),
    ("redirect", "GET", "/redirect", [], [], b""),
    ("created", "GET", "/status/201", [], [], b""),
    ("not-found-by-app", "GET", "/status/404", [], [], b""),
    ("teapot", "GET", "/status/418", [], [], b""),
    ("server-error-by-app", "GET", "/status/503", [], [], b""),
    ("raises", "GET", "/boom", [], [], b""),
    ("no-content", "GET", "/empty", [], [], b""),
    ("no-route", "GET", "/nowhere", [], [], b""),
    ("wrong-method", "POST", "/binary", [], [], b""),
    ("background", "POST", "/later", [("seconds", "0")], [], b""),
]  # fmt: skip

# Where runtime.web answers otherwise than the adapter beside it, and why (the README says the
# same): (adapter, shape, request) -> reason.
_FASTAPI_1_0 = "a header sent twice reaches the app as two headers; Mangum joins REST API repeats"
_FLASK_2_0_REPEATS = "2.0 answers join a repeated header with commas; apig-wsgi keeps the last"
_ALB_QUERY = "ALB's query string reaches the app as sent; Mangum re-encodes it (%20 becomes +)"
_REST_UNICODE_PATH = "a REST API path with non-ASCII characters is intact; apig-wsgi garbles it"
_ALB_REPEATS = (
    "an ALB answer without multi-value headers keeps every value of a repeated header (each "
    "under a differently cased name, as Mangum); apig-wsgi keeps the last, losing cookies"
)
DIFFERENCES = {
    ("asgi", "1.0", "repeated-header"): _FASTAPI_1_0,
    ("asgi", "alb-multi", "encoded-query"): _ALB_QUERY,
    ("asgi", "alb", "encoded-query"): _ALB_QUERY,
    ("wsgi", "2.0", "repeated-answer-header"): _FLASK_2_0_REPEATS,
    ("wsgi", "1.0", "unicode-path"): _REST_UNICODE_PATH,
    ("wsgi", "alb", "repeated-answer-header"): _ALB_REPEATS,
    ("wsgi", "alb", "set-cookies"): _ALB_REPEATS,
}


@pytest.fixture(scope="module")
def served():
    """Each handler on an emulator of its own."""
    names = ("asgi_handler", "mangum_handler", "wsgi_handler", "apig_handler")
    functions = {
        name: Emulator(f"web_apps.{name}", HANDLERS, function_timeout_s=30, timeline=None)
        for name in names
    }
    yield functions
    for function in functions.values():
        function.close()


def _answers(function: Emulator, shape: str) -> dict[str, dict]:
    answers = {}
    for name, method, path, query, headers, body in REQUESTS:
        result = function.invoke(event(shape, method, path, query, headers, body))
        assert not result.function_error, (name, result.body)
        answers[name] = seen_by_client(shape, result.json())
    return answers


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("ours", "theirs"), [("asgi", "mangum"), ("wsgi", "apig")])
def test_the_same_answers_as_mangum_and_apig_wsgi_except_where_documented(
    served, shape, ours, theirs
):
    mine = _answers(served[f"{ours}_handler"], shape)
    reference = _answers(served[f"{theirs}_handler"], shape)
    differing = {name for name in mine if mine[name] != reference[name]}
    documented = {name for (adapter, s, name) in DIFFERENCES if (adapter, s) == (ours, shape)}
    detail = {name: (mine[name], reference[name]) for name in differing ^ documented}
    assert differing == documented, json.dumps(detail, default=repr, indent=1)[:6000]
    assert len(REQUESTS) >= 30
    # The answers are the apps' own, not two adapters failing alike.
    assert mine["created"]["status"] == 201 and mine["raises"]["status"] == 500
    echoed = json.loads(mine["repeated-query"]["body"])
    sent = [["tag", "y"]] if shape == "alb" else [["tag", "x"], ["tag", "y"]]  # ALB keeps the last
    assert echoed["params"] == sent


def _timed(function: Emulator, request: dict) -> tuple[dict, float]:
    started = time.perf_counter()
    answer = function.invoke(request).json()
    return answer, (time.perf_counter() - started) * 1000


@pytest.mark.parametrize(("ours", "seconds"), [("asgi_handler", 2), ("wsgi_handler", 1)])
def test_work_after_the_response_runs_after_an_answer_within_500_ms(served, ours, seconds):
    """FastAPI's BackgroundTasks (2 s of work), Flask's call_on_close (1 s): the caller has its
    answer at once and the work runs before the next event. (Mangum and apig-wsgi hold the
    answer until the work is done: bench/web.py shows them side by side.)"""
    later = event("2.0", "POST", "/later", [("seconds", str(seconds))])
    function = served[ours]
    function.wait_idle()
    earlier = function.output.count("deferred from the background task")
    mark = len(function.output)  # this test's lines only: the emulator serves other tests too
    answer, elapsed_ms = _timed(function, later)
    assert json.loads(answer["body"]) == {"accepted": True}
    assert f"done after {seconds:.1f} s" not in function.output[mark:]  # the work runs after
    following = function.invoke(event("2.0", "GET", "/text"))  # waits for the work to end
    function.wait_idle()
    first, second = function.timelines[-2:]
    assert elapsed_ms < 500, f"the answer took {elapsed_ms:.0f} ms"
    assert first.ack_ms < 500 and first.deferred_ms >= seconds * 1000 - 100, first.line()
    output = function.wait_output("deferred from the background task", count=earlier + 1)[mark:]
    assert output.index(f"work done after {seconds:.1f} s") < output.rindex("invocation done")
    assert "callbacks_run=2 failed=0" in output  # the rest of the app, then its own defer
    assert following.status == 200 and second.queued_ms >= seconds * 1000 - 500, second.line()


def test_a_background_task_that_fails_is_logged_and_the_answer_stands(served):
    function = served["asgi_handler"]
    function.wait_idle()
    earlier = function.output.count("ValueError: the background task failed")
    counted = function.output.count("failed=1")
    mark = len(function.output)
    answer = function.invoke(event("2.0", "POST", "/later-fails")).json()
    function.wait_idle()
    output = function.wait_output("ValueError: the background task failed", count=earlier + 1)
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"accepted": True}
    assert "Traceback" in output[mark:]
    assert "failed=1" in function.wait_output("failed=1", count=counted + 1)[mark:]


def test_the_lifespan_starts_once_across_100_invocations_and_shuts_down_on_sigterm():
    function = Emulator("web_apps.asgi_handler", HANDLERS, function_timeout_s=30, timeline=None)
    for _ in range(100):
        answer = function.invoke(event("2.0", "GET", "/echo/life")).json()
        assert json.loads(answer["body"])["started"] == 1
    function.close()  # SIGTERM, as Lambda ends the environment
    output = function.output
    assert output.count("lifespan startup") == 1 and "lifespan startup 1 in process" in output
    assert "lifespan shutdown in process" in output
    assert output.index("lifespan shutdown") > output.rindex("invocation done")


@pytest.fixture
def streaming():
    function = Emulator("web_apps.asgi_streaming", HANDLERS, function_timeout_s=30, timeline=None)
    yield function
    function.close()


def test_a_streaming_response_reaches_a_function_url_chunk_by_chunk(streaming):
    with LoopbackServer() as held:
        held.hold("/release")
        conn = connect(streaming)
        conn.request("GET", f"/stream?held={held.url}/release")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("content-type").startswith(
            "text/plain"
        )
        assert response.readline() == b"first\n"  # while the app waits to produce the rest
        held.wait_for("/release")
        held.release("/release")
        assert response.read() == b"second\nlast\n"
    streaming.wait_idle()
    assert streaming.timelines[-1].streamed


def test_an_exception_mid_stream_ends_it_with_the_error_trailers(streaming):
    request = json.dumps(event("2.0", "GET", "/stream-fails"))
    answer = lambda_client(streaming).invoke_with_response_stream(FunctionName="f", Payload=request)
    events = list(answer["EventStream"])
    prelude, _, body = events[0]["PayloadChunk"]["Payload"].partition(b"\0" * 8)
    assert json.loads(prelude)["statusCode"] == 200 and body == b"first\n"
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Function.RuntimeError", complete
    assert json.loads(complete["ErrorDetails"])["errorMessage"] == "the stream failed mid-way"


def test_the_webhook_examples_own_tests_pass():
    """examples/webhook: a FastAPI receiver that verifies GitHub's signature, answers 202, and
    processes the delivery in a background task; its own tests, as its user runs them."""
    example = Path(__file__).resolve().parent.parent / "examples" / "webhook"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(example.parent.parent)},
        timeout=120,
    )
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout + done.stderr
