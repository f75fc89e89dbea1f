"""The hand-off: durable work an invocation cannot finish goes to SQS and comes back to the same
function. moto's standalone server (pinned) stands in for SQS on 127.0.0.1; the real boto3 sends
from inside `./bootstrap` on the emulator and reads the queue here."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal

import pytest
from fake_api import HANDLERS, HOLD, FakeRuntimeAPI, RuntimeProcess
from sqs_support import FirstRequestHeld, as_records, received

from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.logs.redact import written_forms

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


def _send_forged(sqs, body: str, signature: str | None) -> None:
    """What anyone with sqs:SendMessage on the queue could send: the runtime's marker, a body
    naming any importable function."""
    attributes = {"lambda-ack": {"DataType": "String", "StringValue": "handoff/1"}}
    if signature is not None:
        attributes["lambda-ack-signature"] = {"DataType": "String", "StringValue": signature}
    sqs.client.send_message(QueueUrl=sqs.queue, MessageBody=body, MessageAttributes=attributes)


def test_only_messages_the_function_signed_run_from_the_queue(sqs, tmp_path):
    planted = tmp_path / "planted"
    forged = json.dumps(
        {
            "lambdaAckHandoff": 1,
            "function": "os:system",
            "args": [f"touch {planted}"],
            "kwargs": {},
            "attempts": 0,
            "requestId": "r",
            "registeredAt": 0,
            "idempotencyKey": "r/1",
            "reason": "forged",
        }
    )
    other_key = hmac.new(b"not-the-functions-key" * 2, forged.encode(), hashlib.sha256)
    with Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=30) as function:
        function.invoke({"id": "fail-1"})
        function.wait_idle()
        (genuine,) = received(sqs, 1)
        _send_forged(sqs, forged, None)
        _send_forged(sqs, forged, other_key.hexdigest())
        _send_forged(sqs, forged, "0" * 64)
        messages = received(sqs, 3)
        answer = function.invoke(as_records([genuine, *messages])).json()
        function.wait_idle()
        output = function.wait_output("not signed with this function's", count=3)
    assert not planted.exists()  # os.system never ran
    assert {f["itemIdentifier"] for f in answer["batchItemFailures"]} == {
        genuine["MessageId"],  # report fail-1 fails again: reported as it should be
        *(m["MessageId"] for m in messages),
    }
    assert "report fail-1: attempt 2" in output  # the genuine one ran
    assert output.count("not signed with this function's LAMBDA_RUNTIME_HANDOFF_KEY") == 3


def test_a_queue_without_its_signing_key_is_the_init_error(sqs):
    env = {**sqs.env, "LAMBDA_RUNTIME_HANDOFF_KEY": "short"}
    with Emulator("handing_off.handler", HANDLERS, env=env) as function:
        error = function.invoke({"id": "x"}).json()
        output = function.output
    assert error["errorType"] == "Runtime.InvalidConfiguration"
    assert "LAMBDA_RUNTIME_HANDOFF_KEY must be too (it is shorter)" in error["errorMessage"]
    assert "short" not in output.replace("shorter", "")  # the value itself is never written


def test_a_durable_argument_changed_after_defer_is_handed_off_as_it_was_registered(sqs):
    event = {"work": "changes-its-argument", "id": "w-1"}
    with Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=30) as function:
        assert function.invoke(event).json() == "accepted"
        function.wait_idle()
        (message,) = received(sqs, 1)
        output = function.wait_output("report after-w-1: attempt None")  # the rest of the batch
        assert function.runtime_pid is not None and function.timelines[-1].status == "ok"
    assert json.loads(message["Body"])["args"] == [{"id": "w-1"}]
    assert "failed=1 skipped=0 discarded=0 retried=0 handed_off=1" in output


def test_at_sigterm_a_changed_durable_argument_is_handed_off_and_the_hooks_run(runtime, sqs):
    with LoopbackServer() as held:
        held.hold("/work")
        api, proc = runtime("handing_off.handler", extensions=True, **sqs.env)
        args = [f"{held.url}/work"]
        api.push({"work": "changes-its-argument", "id": "w-2", "args": args})
        held.wait_for("/work")
        proc.wait_output("hand-off: SQS client ready")
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.wait_exit() == 0  # it ends at SIGTERM, as Lambda expects
        bodies = [json.loads(m["Body"]) for m in received(sqs, 2, proc.output)]
    by_function = {body["function"]: body["args"] for body in bodies}
    assert by_function == {  # the running one as it was registered, and the one waiting
        "handing_off:changes_its_argument": [{"id": "w-2"}, f"{held.url}/work"],
        "handing_off:report": ["after-w-2"],
    }
    assert "the function's shutdown hook ran" in proc.output


def test_sigterm_during_a_hand_off_send_sends_it_again(sqs):
    """The send is held by a stand-in between the runtime and moto (scripted: the wire fault
    of a send cut off); SIGTERM then comes, and the callback must still reach the queue."""
    proxy = FirstRequestHeld(sqs.env["AWS_ENDPOINT_URL"])
    api = FakeRuntimeAPI(extensions=True)
    proc = RuntimeProcess(
        api.address, "handing_off.handler", {**sqs.env, "AWS_ENDPOINT_URL": proxy.url}
    )
    try:
        api.push({"id": "fail-in-the-send"})
        assert proxy.held.wait(20), proc.output  # the hand-off's send is under way
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.wait_exit() == 0
        (message,) = received(sqs, 1, proc.output)
    finally:
        proc.stop()
        api.close()
        proxy.close()
    body = json.loads(message["Body"])
    assert body["args"] == ["fail-in-the-send"] and body["attempts"] == 1
    assert body["reason"] == "the environment is shutting down (SIGTERM)"


@pytest.mark.parametrize("kind", ["dict", "tuple", "nested"])
def test_arguments_json_does_not_give_back_are_refused_at_defer(runtime, kind):
    api, _ = runtime("handing_off.handler")
    error = api.outcome(api.push({"work": "not-json-as-it-is", "kind": kind})).json()
    assert error["errorType"] == "TypeError"
    assert "argument 1 does not come back from JSON as it is" in error["errorMessage"]


def test_text_sqs_would_refuse_raw_is_handed_off_and_replayed_as_it_was(sqs):
    text = r"lone \ud800, non-characters \ufffe \uffff, and \u00e9"  # JSON escapes
    event = f'{{"work": "echo-text", "text": "{text}"}}'
    with Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=30) as function:
        function.invoke(event)
        function.wait_idle()
        (message,) = received(sqs, 1)
        assert "handed_off=1" in function.wait_output("handed_off=")
        function.invoke(as_records([message]))
        output = function.wait_output("echo_text got")
    assert r"echo_text got 'lone \ud800, non-characters \ufffe \uffff, and \xe9'" in output


def test_a_hand_off_sqs_refuses_is_logged_to_run_again_and_not_counted_as_handed_off(sqs):
    env = {**sqs.env, "LAMBDA_RUNTIME_HANDOFF_QUEUE_URL": sqs.queue + "-that-does-not-exist"}
    with Emulator("handing_off.handler", HANDLERS, env=env, function_timeout_s=30) as function:
        function.invoke({"id": "fail-2"})
        function.wait_idle()
        output = function.wait_output("handed_off=")
    assert "could not be handed off to" in output and "to run it again:" in output
    assert "failed=1 skipped=0 discarded=0 retried=0 handed_off=0" in output


def test_a_hand_off_at_sigterm_counts_the_attempts_made(sqs):
    with LoopbackServer() as held:
        held.hold("/work")
        function = Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=60)
        try:
            event = {"work": "fails-once-then-waits", "id": "w-3", "held_url": f"{held.url}/work"}
            function.invoke(event)
            held.wait_for("/work")  # the second attempt is running
            function.wait_output("hand-off: SQS client ready")
            function.close()  # SIGTERM
            (message,) = received(sqs, 1, function.output)
            assert json.loads(message["Body"])["attempts"] == 2, function.output
            again = Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=60)
            with again:
                again.invoke(as_records([message]))
                output = again.wait_output("handed-off attempt 3")
        finally:
            function.close()
    assert "w-3: handed-off attempt 3" in output


def test_a_handed_off_callback_cancelled_fails_only_its_own_record(sqs):
    with Emulator("handing_off.handler", HANDLERS, env=sqs.env, function_timeout_s=30) as function:
        function.invoke({"work": "cancelled", "id": "w-4"})
        function.invoke({"work": "echo-text", "text": "runs well from the queue"})
        function.wait_idle()
        messages = received(sqs, 2)
        cancelled = next(m["MessageId"] for m in messages if "w-4" in m["Body"])
        answer = function.invoke(as_records(messages, ("user-1", "fine"))).json()
        function.wait_idle()
        output = function.wait_output("user records:")
    assert answer == {"batchItemFailures": [{"itemIdentifier": cancelled}]}
    assert "handed-off callback handing_off:cancelled_from_the_queue failed again" in output
    assert "echo_text got 'runs well from the queue'" in output
    assert "user records: ['user-1']" in output


def test_a_handed_off_callback_that_exits_does_so_after_the_answer(runtime, sqs):
    api, proc = runtime("handing_off.handler", **sqs.env)
    api.outcome(api.push({"work": "exits", "code": 3}))
    api.outcome(api.push({"id": "fail-6"}))
    messages = sorted(received(sqs, 2, proc.output), key=lambda m: "exits" not in m["Body"])
    event = as_records(messages, ("user-2", "fine"))
    answer = api.outcome(api.push(event)).json()
    assert proc.wait_exit() == 3  # once the answer was posted
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]
        + [{"itemIdentifier": "user-2"}]
    }
    assert "asked the runtime to exit" in proc.output
    assert "user records:" not in proc.output  # not run: redelivered with the rest


@pytest.mark.parametrize("concurrency", [None, "2"])
def test_a_secret_in_a_durable_argument_is_masked_in_the_line_to_run_it_again(concurrency):
    """JSON logs escape the message's JSON once more; Managed Instances workers always log
    JSON, whatever the format setting."""
    token = 'xoxb-not"a\\real-token-0123456789'
    env = {"SLACK_BOT_TOKEN": token, "AWS_LAMBDA_LOG_FORMAT": "Text" if concurrency else "JSON"}
    if concurrency:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = concurrency
    kwargs = {"max_concurrency": int(concurrency)} if concurrency else {}
    with Emulator("handing_off.handler", HANDLERS, env=env, **kwargs) as function:
        function.invoke({"work": "with-a-secret"})
        function.wait_idle()
        output = function.wait_output("to run it again:")
    line = next(x for x in output.splitlines() if "to run it again:" in x)
    assert line.startswith("{") and "[REDACTED]" in line
    for form in written_forms(token) | {token.split("-", 1)[1]}:
        assert form not in output
