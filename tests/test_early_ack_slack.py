"""Slack acknowledged the moment a listener says so, and within 3 seconds even when it is slow.

`./bootstrap` on the emulator and under the real RIE, real slack_bolt and slack_sdk; a loopback
server stands in for Slack (each command's response_url, the Web API at SLACK_API_URL) and for
the service the listeners' work calls (STATUS_URL), which each test holds until it has seen
what must come first: nothing here waits on a clock.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
from slack_support import FORM, JSON, command_body, lambda_body, mention_body, signed_event
from test_slack_e2e import app_env, fresh_path

from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE

TESTS = Path(__file__).resolve().parent
BOLT_RESTART = ("ops_restart.handler", TESTS / "bolt_handlers")
SLACKAPP = ("slack_acks.handler", TESTS / "slack_handlers")
ARTICLE_ACK = "Received restart request... Initialization started. :hourglass_flowing_sand:"
RETRY = [("X-Slack-Retry-Num", "1"), ("X-Slack-Retry-Reason", "http_timeout")]


def started(slack: LoopbackServer, where: tuple[str, Path], **env: str) -> Emulator:
    handler, task_root = where
    return Emulator(handler, task_root, env=app_env(slack, **env), function_timeout_s=30)


def done_line(function: Emulator, request_id: str) -> str:
    output = function.wait_output(f"{request_id}\tinvocation done")
    return re.search(rf"{request_id}\tinvocation done: ([^\n]*)", output)[1]


def count(slack: LoopbackServer, path: str) -> int:
    return sum(r.path == path for r in slack.requests)


def test_the_articles_bolt_listener_acks_at_once_and_says_after_its_work():
    server = f"web-{uuid.uuid4().hex[:6]}"
    with LoopbackServer() as slack, started(slack, BOLT_RESTART) as function:
        function.invoke({"warm": "up"})  # a warm environment: the ack's own latency shows
        slack.hold(f"/status/{server}")
        body = command_body(server, slack.url + fresh_path("commands"), "/ops-restart")
        answer = function.invoke(signed_event(body, FORM), timeout=30)
        # The answer is back while the listener is still in its work: the status call is held.
        assert lambda_body(answer.json()) == ARTICLE_ACK.encode()
        slack.wait_for(f"/status/{server}")
        assert count(slack, "/api/chat.postMessage") == 0
        slack.release(f"/status/{server}")
        said = slack.wait_for("/api/chat.postMessage")
        function.wait_idle()
        timeline = function.timelines[-1]
        line = done_line(function, timeline.request_id)
        # Slack's retry of the same request (it resends when it had no answer) runs nothing.
        retried = function.invoke(signed_event(body, FORM, extra=RETRY)).json()
        function.wait_idle()
        invocations = len(function.timelines)
    assert "restarted successfully" in said.body.decode() and server in said.body.decode()
    assert timeline.ack_ms - timeline.queued_ms < 1000, timeline.line()
    assert "ack_source=ack" in line and "callbacks_run=1 failed=0" in line
    assert (retried["statusCode"], retried["headers"]["x-slack-no-retry"]) == (200, "1")
    assert count(slack, f"/status/{server}") == 1 and count(slack, "/api/chat.postMessage") == 1
    assert invocations == 3  # warm-up, the command, the retry: the work ran in the command's


def on_rie(where: tuple[str, Path], command: str, then: str) -> tuple[dict, str]:
    """A listener that acknowledges, then works, under the real RIE. RIE gives the caller its
    answer only at the next `/next`, so what shows is the traffic in its log: the `/response`
    POST while the work is still held; `then` is the request the listener makes after it."""
    name = f"rie-{uuid.uuid4().hex[:6]}"
    handler, task_root = where
    with (
        LoopbackServer() as slack,
        RIE(handler, task_root, env=app_env(slack), function_timeout_s=30) as function,
    ):
        slack.hold(f"/status/{name}")
        body = command_body(name, slack.url + fresh_path("commands"), command)
        answer: list = []
        invoking = threading.Thread(
            target=lambda: answer.append(function.invoke(signed_event(body, FORM)))
        )
        invoking.start()
        slack.wait_for(f"/status/{name}")
        function.wait_output("/response")
        assert not [r for r in slack.requests if r.path.startswith(then)]
        slack.release(f"/status/{name}")
        invoking.join(30)
        slack.wait_until(lambda: [r for r in slack.requests if r.path.startswith(then)], 10, then)
        output = function.wait_output("invocation done")
    assert output.index("/response") < output.index("invocation done")
    assert "ack_source=ack" in output
    return answer[0].json(), output


def test_the_articles_bolt_listener_under_the_real_rie():
    answer, _ = on_rie(BOLT_RESTART, "/ops-restart", "/api/chat.postMessage")
    assert lambda_body(answer) == ARTICLE_ACK.encode()


def test_a_slackapp_listener_with_runtime_ack_under_the_real_rie():
    answer, _ = on_rie(SLACKAPP, "/ops-restart", "/commands/")
    assert lambda_body(answer).startswith(b"Received restart request for rie-")


def test_a_slackapp_listener_acks_with_runtime_ack_then_works():
    name = f"app-{uuid.uuid4().hex[:6]}"
    with LoopbackServer() as slack, started(slack, SLACKAPP) as function:
        slack.hold(f"/status/{name}")
        response_path = fresh_path("commands")
        body = command_body(name, slack.url + response_path, "/ops-restart")
        answer = function.invoke(signed_event(body, FORM), timeout=30).json()
        assert answer["statusCode"] == 200
        assert lambda_body(answer) == f"Received restart request for {name}".encode()
        slack.wait_for(f"/status/{name}")
        assert count(slack, response_path) == 0
        slack.release(f"/status/{name}")
        follow_up = slack.wait_for(response_path)
        function.wait_idle()
        line = done_line(function, function.timelines[-1].request_id)
    assert follow_up.json()["text"] == f"Restarted {name}"
    assert "ack_source=ack" in line


def guarded(where: tuple[str, Path], command: str = "/slow-ack") -> tuple[dict, float, dict, str]:
    """A slow-to-acknowledge listener: its answer, when it came (ms after the event reached the
    runtime), what reached its response_url after, and the runtime's output."""
    name = f"slow-{uuid.uuid4().hex[:6]}"
    with LoopbackServer() as slack, started(slack, where) as function:
        function.invoke({"warm": "up"})
        slack.hold(f"/status/{name}")
        response_path = fresh_path("commands")
        body = command_body(name, slack.url + response_path, command)
        answer = function.invoke(signed_event(body, FORM), timeout=30).json()
        slack.release(f"/status/{name}")  # the listener's work ends only after the fallback
        late = slack.wait_for(response_path)
        function.wait_idle()
        timeline = function.timelines[-1]
        return answer, timeline.ack_ms - timeline.queued_ms, late.json(), function.output


def test_the_ack_guard_answers_for_a_slow_slackapp_listener_and_sends_its_answer_after():
    answer, ack_ms, late, output = guarded(SLACKAPP, "/slow-ack")
    assert (answer["statusCode"], lambda_body(answer)) == (200, b"")
    assert 2400 <= ack_ms <= 3000, ack_ms
    assert late["text"].startswith("Done with slow-")
    assert "ack guard: no acknowledgement 2500 ms after the request" in output
    assert "delivered to its response_url" in output and "ack_source=guard" in output


def test_the_ack_guard_answers_for_a_slow_bolt_listener_and_sends_its_ack_after():
    answer, ack_ms, late, output = guarded(BOLT_RESTART, "/slow-ack")
    assert (answer["statusCode"], lambda_body(answer)) == (200, b"")
    assert 2400 <= ack_ms <= 3000, ack_ms
    assert late["text"].startswith("Done with slow-")
    assert "ack_source=guard" in output


def test_the_guards_text_is_configurable_and_an_events_late_answer_is_logged():
    name = f"evt-{uuid.uuid4().hex[:6]}"
    with (
        LoopbackServer() as slack,
        started(slack, ("slack_acks.worded_handler", SLACKAPP[1])) as function,
    ):
        function.invoke({"warm": "up"})
        slack.hold(f"/status/{name}")
        body = mention_body(f"Ev{name}", f"<@B0BOT> {name}")
        answer = function.invoke(signed_event(body, JSON)).json()
        slack.release(f"/status/{name}")
        function.wait_idle()
        output = function.wait_output("superseded by the fallback")
    assert (answer["statusCode"], lambda_body(answer)) == (200, b"Working on it...")
    assert "ack guard: no acknowledgement 500 ms after the request" in output


def test_on_a_cold_start_the_guard_counts_from_the_process_start():
    """The module import takes 2 s: counted from the event, the fallback would come at 4.5 s."""
    name = f"cold-{uuid.uuid4().hex[:6]}"
    with LoopbackServer() as slack:
        handler, task_root = SLACKAPP
        where = ("slow_import.handler", task_root)
        with started(slack, where) as function:
            slack.hold(f"/status/{name}")
            response_path = fresh_path("commands")
            body = command_body(name, slack.url + response_path, "/slow-ack")
            answer = function.invoke(signed_event(body, FORM), timeout=30).json()
            slack.release(f"/status/{name}")
            slack.wait_for(response_path)
            function.wait_idle()
            timeline = function.timelines[-1]
    assert timeline.cold_start and lambda_body(answer) == b""
    assert timeline.ack_ms <= 3000, timeline.line()  # from the invoke, which spawned the process


def test_the_guards_delay_is_configurable():
    answer, ack_ms, late, _ = guarded(("slack_acks.prompt_handler", SLACKAPP[1]))
    assert (answer["statusCode"], lambda_body(answer)) == (200, b"")
    assert 450 <= ack_ms < 2000, ack_ms
    assert late["text"].startswith("Done with slow-")


def test_a_guard_turned_off_arms_nothing():
    from lambda_ack.answer.acknowledgement import Acknowledgement
    from lambda_ack.slack import guard

    answer = Acknowledgement(api=None, invocation=None, started=0.0, cold_start=False)
    guard.AckGuard(None).watch(answer, print)
    guard.AckGuard(0).watch(answer, print)
    assert answer.after_guard is None and guard._timer._job is None


def _older_than(pid: int, seconds: float) -> None:
    """Until process `pid` has lived `seconds` (the scenario's precondition, read off /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    while True:
        started = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started / ticks
        if age >= seconds:
            return
        time.sleep(seconds - age)


@pytest.mark.parametrize(
    "started_ahead",
    ["provisioned-concurrency", "on-demand, initialised before an event", "managed-instances"],
)
def test_an_environment_started_ahead_of_traffic_counts_the_guard_from_the_request(started_ahead):
    """The environment is ready and has lived past the guard's 1 s when the first request
    comes; the listener answers in 0.3 s. Counted from the process's start, the guard would post
    its fallback the moment the request arrived."""
    workers = 2 if started_ahead == "managed-instances" else 1
    env = {}
    if started_ahead == "provisioned-concurrency":
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = started_ahead
    with LoopbackServer() as slack:
        handler, task_root = ("slack_acks.second_handler", SLACKAPP[1])
        with Emulator(
            handler,
            task_root,
            env=app_env(slack, **env),
            function_timeout_s=30,
            max_concurrency=workers,
        ) as function:
            function.wait_ready(workers)
            _older_than(function.runtime_pid, 1.2)
            body = command_body("ahead", slack.url + fresh_path("commands"), "/quick")
            answer = function.invoke(signed_event(body, FORM)).json()
            function.wait_idle()
            output = function.output
    assert lambda_body(answer) == b'{"text":"Quick answer for ahead"}', output
    assert "ack guard:" not in output


def test_a_forged_request_on_a_cold_start_past_the_guards_delay_gets_bolts_401():
    """The Bolt app's import outlasts its guard's 200 ms; the first event is forged. The guard
    must not answer for a request Bolt has not verified."""
    with LoopbackServer() as slack:
        where = ("slow_start.handler", TESTS / "bolt_handlers")
        with started(slack, where) as function:
            body = command_body("forged", slack.url + fresh_path("commands"), "/ops-restart")
            forged = signed_event(body, FORM, secret="not-the-apps-signing-secret")
            answer = function.invoke(forged).json()
            function.wait_idle()
            genuine = function.invoke(signed_event(body, FORM)).json()
            output = function.output
    assert answer["statusCode"] == 401, output
    assert "ack guard:" not in output
    assert genuine["statusCode"] == 200  # a verified request is answered as ever
