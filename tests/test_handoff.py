"""The hand-off: durable work an invocation cannot finish goes to SQS and comes back to the same
function. moto's standalone server (pinned) stands in for SQS on 127.0.0.1; the real boto3 sends
from inside `./bootstrap` on the emulator and reads the queue here."""

from __future__ import annotations

import json
import re
import signal

from fake_api import HANDLERS, HOLD
from sqs_support import as_records, received

from devtools.emulator import Emulator
from devtools.loopback import LoopbackServer

pytest_plugins = ["fake_api", "sqs_support"]


def test_a_callback_that_keeps_failing_is_retried_handed_off_and_reported_again(sqs):
    with Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=30) as function:
        assert function.invoke({"id": "fail-7", "retries": 2}).json() == "accepted"
        function.wait_idle()
        request_id = function.timelines[-1].request_id
        (message,) = received(sqs, 1)
        body = json.loads(message["Body"])
        output = function.wait_output("handed off (failed 3 attempt(s))")

        # A user's message whose body looks like a hand-off is still the user's: the runtime
        # knows its own by a message attribute.
        lookalike = ("user-3", json.dumps({"lambdaAckHandoff": 1}))
        event = as_records([message], ("user-1", "fine"), ("user-2", "fail me"), lookalike)
        answer = function.invoke(event).json()
        function.wait_idle()
        output = function.wait_output("user records:")
    assert output.count("report fail-7: attempt None") == 3  # the three attempts here
    assert "retried=2 handed_off=1" in output
    assert body["function"] == "handing_off:report" and body["args"] == ["fail-7"]
    assert body["attempts"] == 3 and body["requestId"] == request_id
    assert body["idempotencyKey"] == f"{request_id}/1"
    # Run again from the queue: the fourth attempt, and its failure is reported for redelivery,
    # beside the user's own failure; the user's handler saw only its own records.
    assert f"report fail-7: attempt 4, key {request_id}/1" in output
    assert "user records: ['user-1', 'user-2', 'user-3']" in output
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": message["MessageId"]},
            {"itemIdentifier": "user-2"},
        ]
    }


def test_work_without_time_to_run_is_handed_off_and_runs_from_the_queue(sqs):
    """A safety margin longer than the timeout: no callback may start, so each durable one is
    handed off instead of skipped."""
    env = {**sqs.env, "LAMBDA_RUNTIME_DEFER_MARGIN_MS": "600000"}
    with Emulator("handing_off.handler", HANDLERS, env=env, function_timeout_s=30) as function:
        function.invoke({"id": "ok-3"})
        function.wait_idle()
        (message,) = received(sqs, 1)
        answer = function.invoke(as_records([message])).json()
        function.wait_idle()
        output = function.wait_output("report ok-3: attempt 1")
    assert json.loads(message["Body"])["attempts"] == 0
    assert "handed off (not started:" in output and "skipped=0" in output
    assert answer == {"batchItemFailures": []}


def test_without_a_queue_durable_work_that_cannot_finish_is_logged_to_run_by_hand():
    with Emulator("handing_off.handler", HANDLERS, function_timeout_s=30) as function:
        function.invoke({"id": "fail-9", "retries": 0})
        function.wait_idle()
        output = function.wait_output("to run it again:")
    line = next(x for x in output.split("\n") if "to run it again:" in x)
    assert line.startswith("[ERROR]") and "no hand-off queue is configured" in line
    message = json.loads(line.split("to run it again: ", 1)[1])
    assert message["function"] == "handing_off:report" and message["args"] == ["fail-9"]


def test_a_durable_callback_still_running_near_the_timeout_is_handed_off_before_the_kill(sqs):
    with LoopbackServer() as held:
        held.hold("/work")
        with Emulator(
            "handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=3
        ) as function:
            function.invoke({"held_url": f"{held.url}/work"})
            (message,) = received(sqs, 1)  # sent while the callback still runs
            function.wait_idle()
            assert function.timelines[-1].timed_out  # then Lambda's timeout killed it
            held.release("/work")
            answer = function.invoke(as_records([message])).json()  # a fresh environment
            output = function.wait_output("waited for")
    assert json.loads(message["Body"])["reason"] == "still running near the deadline"
    assert "handed off (still running near the deadline)" in output
    assert answer == {"batchItemFailures": []}


def test_at_sigterm_the_running_and_the_waiting_durable_callbacks_are_all_handed_off(sqs):
    with LoopbackServer() as held:
        held.hold("/work")
        function = Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=60)
        function.invoke({"held_url": f"{held.url}/work", "then": ["a", "b"]})
        held.wait_for("/work")  # the first callback is running, two wait
        # As when Lambda ends an environment that has served a while: the client is made.
        function.wait_output("hand-off: SQS client ready")
        function.close()  # SIGTERM
        output = function.output
        messages = received(sqs, 3, output)
    bodies = sorted((json.loads(m["Body"]) for m in messages), key=lambda b: b["idempotencyKey"])
    assert [b["function"] for b in bodies] == ["handing_off:wait_for"] + ["handing_off:report"] * 2
    assert {b["reason"] for b in bodies} == {"the environment is shutting down (SIGTERM)"}
    spent = float(re.search(r"shutdown complete in ([\d.]+) ms", output)[1])
    assert spent < 500, output  # within Lambda's grace period


def test_sigterm_after_the_answer_went_out_but_before_its_202_still_hands_off(runtime, sqs):
    """Scripted Runtime API (RIE cannot hold a 202 back): the caller may already have the answer
    while the runtime still waits for the API's 202; the work is owed from the moment it is
    sent, so SIGTERM in that window hands it off (found by the hand-off soak)."""
    api, proc = runtime("handing_off.handler", extensions=True, **sqs.env)
    api.outcome(api.push({"id": "warm-up"}))  # an environment that has served: its client made
    proc.wait_output("hand-off: SQS client ready")
    api.script("response", (HOLD, b""))
    request_id = api.push({"id": "in-the-window"})
    api.wait_for(lambda rs: any(r.path.endswith(f"/{request_id}/response") for r in rs))
    proc.proc.send_signal(signal.SIGTERM)
    (message,) = received(sqs, 1, proc.output)
    assert json.loads(message["Body"])["args"] == ["in-the-window"]
    assert proc.wait_exit() == 0
