"""The shared duplicate guard: two runtime processes (two environments, each on an emulator of its
own) and one DynamoDB table on moto's standalone server (pinned); the runtime reaches the table
with its own client (`lambda_ack.dedupe.dynamodb`), boto3 only sets the table up.

Slack retries an event it had no answer for within 3 seconds, and the retry goes to whichever
environment is free: while the first is still working, that is the other one. Every wait is on
an event: the status service each listener calls is held by the test until it has seen what
must come first.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from slack_support import JSON, lambda_body, mention_body, signed_event
from sqs_support import CREDENTIALS, as_records, aws_client, received
from test_slack_e2e import app_env

from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer

pytest_plugins = ["sqs_support"]

TESTS = Path(__file__).resolve().parent
APPS = {
    "SlackApp": ("slack_acks.unguarded_handler", TESTS / "slack_handlers"),
    "Bolt": ("dedupe_bolt.handler", TESTS / "bolt_handlers"),
}
RETRY = [("X-Slack-Retry-Num", "1"), ("X-Slack-Retry-Reason", "http_timeout")]


@pytest.fixture
def table(moto_url) -> str:
    client = aws_client("dynamodb", moto_url)
    name = f"dedupe-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def environments(slack, app, table, endpoint, *extra_env):
    """Two environments of one function: the same code, the same table."""
    handler, task_root = APPS[app]
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "LAMBDA_RUNTIME_DEDUPE_TABLE": table}
    return [
        Emulator(handler, task_root, env=app_env(slack, **env, **more), function_timeout_s=30)
        for more in extra_env or ({}, {})
    ]


def hits(slack: LoopbackServer, path: str) -> int:
    return sum(r.path == path for r in slack.requests)


@pytest.mark.parametrize("app", APPS)
def test_a_retry_sent_to_another_environment_while_the_first_works_runs_nothing(
    app, table, moto_url
):
    name = f"busy-{uuid.uuid4().hex[:6]}"
    body = mention_body(f"Ev{name}", f"<@B0BOT> {name}")
    with LoopbackServer() as slack:
        first, second = environments(slack, app, table, moto_url)
        with first, second:
            slack.hold(f"/status/{name}")
            answers = {}
            sender = threading.Thread(
                target=lambda: answers.update(first=first.invoke(signed_event(body, JSON)))
            )
            sender.start()
            slack.wait_for(f"/status/{name}")  # the first environment's listener is working
            retried = second.invoke(signed_event(body, JSON, extra=RETRY)).json()
            slack.release(f"/status/{name}")
            sender.join(30)
            first.wait_idle()
            output = second.output
    assert (retried["statusCode"], retried["headers"]["x-slack-no-retry"]) == (200, "1")
    assert "duplicate request ignored" in output
    assert hits(slack, f"/status/{name}") == 1  # the listener ran once, in the first
    assert answers["first"].json()["statusCode"] == 200
    assert "AWS client code loaded: ['lambda_ack.dedupe.table']" in first.output  # no boto3


def test_without_a_table_the_guard_loads_no_aws_client_code():
    name = f"plain-{uuid.uuid4().hex[:6]}"
    body = mention_body(f"Ev{name}", f"<@B0BOT> {name}")
    handler, task_root = APPS["SlackApp"]
    slack = LoopbackServer()
    with slack, Emulator(handler, task_root, env=app_env(slack), function_timeout_s=30) as function:
        answer = function.invoke(signed_event(body, JSON)).json()
        again = function.invoke(signed_event(body, JSON, extra=RETRY)).json()
        function.wait_idle()
        output = function.output
    assert answer["statusCode"] == 200 and again["headers"]["x-slack-no-retry"] == "1"
    assert "AWS client code loaded: []" in output  # the guard kept the key in memory


@pytest.mark.parametrize("app", APPS)
def test_a_listener_that_fails_in_the_first_environment_lets_the_retry_run_it(app, table, moto_url):
    name = f"fails-{uuid.uuid4().hex[:6]}"
    body = mention_body(f"Ev{name}", f"<@B0BOT> {name}")
    with LoopbackServer() as slack:
        failing, working = environments(slack, app, table, moto_url, {"FAIL_MENTIONS": "1"}, {})
        with failing, working:
            failed = failing.invoke(signed_event(body, JSON))
            retried = working.invoke(signed_event(body, JSON, extra=RETRY)).json()
            working.wait_idle()
    assert failed.function_error or failed.json()["statusCode"] >= 500
    assert retried["statusCode"] == 200 and "x-slack-no-retry" not in retried["headers"]
    assert hits(slack, f"/status/{name}") == 1  # run by the retry


@pytest.mark.parametrize("app", APPS)
def test_a_table_that_does_not_answer_costs_the_ack_at_most_the_guards_bound(app, table):
    """The table's endpoint takes the request and never answers: the claim gives up after its
    500 ms, the request is checked in memory, and the listener runs."""
    name = f"slow-{uuid.uuid4().hex[:6]}"
    body = mention_body(f"Ev{name}", f"<@B0BOT> {name}")
    with LoopbackServer() as slack, LoopbackServer() as silent:
        silent.hold("/")
        (function,) = environments(slack, app, table, silent.url, {})
        with function:
            function.invoke({"warm": "up"})  # a warm environment: its client is made
            answer = function.invoke(signed_event(body, JSON)).json()
            function.wait_idle()
            timeline = function.timelines[-1]
            output = function.wait_output("duplicate guard: table")
        silent.release("/")
    assert answer["statusCode"] == 200 and lambda_body(answer) in (b"", b"{}")
    assert "did not answer within 500 ms" in output and "checked in this environment's" in output
    assert 450 <= timeline.ack_ms <= 1500, timeline.line()
    assert hits(slack, f"/status/{name}") == 1


def test_a_handed_off_callback_delivered_twice_does_its_work_once(sqs, table):
    """SQS delivers at least once: two deliveries of one message, in two environments; then a
    delivery that fails after claiming, and the redelivery that does the work."""
    env = {**sqs.env, "LAMBDA_RUNTIME_DEDUPE_TABLE": table}
    handler, task_root = "handing_off.handler", TESTS / "handlers"
    with (
        Emulator(handler, task_root, env=env, function_timeout_s=30) as first,
        Emulator(handler, task_root, env=env, function_timeout_s=30) as second,
    ):
        first.invoke({"work": "runs-once", "id": "twice-1"})
        first.invoke({"work": "runs-once", "id": "flaky-1"})
        first.wait_idle()
        messages = received(sqs, 2)
        twice = [m for m in messages if "twice-1" in m["Body"]]
        for function in (first, second):
            assert function.invoke(as_records(twice)).json() == {"batchItemFailures": []}
        flaky = [m for m in messages if "flaky-1" in m["Body"]]
        failed = second.invoke(as_records(flaky)).json()  # attempt 2: fails after claiming
        again = [{**m, "Attributes": {"ApproximateReceiveCount": "2"}} for m in flaky]
        done = first.invoke(as_records(again)).json()  # attempt 3: the claim was given back
        first.wait_idle()
        second.wait_idle()
        output = first.output + second.output
    assert output.count("twice-1: done") == 1
    assert output.count("twice-1: already done by another delivery") == 1
    assert failed == {"batchItemFailures": [{"itemIdentifier": flaky[0]["MessageId"]}]}
    assert done == {"batchItemFailures": []} and "flaky-1: done (attempt 3)" in output


def test_a_delivery_the_deadline_kills_leaves_a_lease_that_lapses(sqs, table, moto_url):
    """A delivery claims the hand-off, then runs into its invocation's deadline: the claim it
    leaves ends shortly after that deadline (read from the table), not in 14 days; once it has
    lapsed (moved to the past here, as time would), the next delivery does the work, and a done
    claim is kept for 14 days."""
    env = {**sqs.env, "LAMBDA_RUNTIME_DEDUPE_TABLE": table}
    handler, task_root = "handing_off.handler", TESTS / "handlers"
    ddb = aws_client("dynamodb", moto_url)
    with (
        Emulator(handler, task_root, env=env, function_timeout_s=3) as first,
        Emulator(handler, task_root, env=env, function_timeout_s=30) as second,
    ):
        first.invoke({"work": "runs-once", "id": "stuck-1"})
        first.wait_idle()
        message = received(sqs, 1)
        key = {"key": {"S": "handoff:" + json.loads(message[0]["Body"])["idempotencyKey"]}}
        killed = first.invoke(as_records(message))
        first.wait_idle()
        lease = int(ddb.get_item(TableName=table, Key=key)["Item"]["expires_at"]["N"])
        ddb.update_item(
            TableName=table, Key=key, UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )  # fmt: skip
        again = [{**message[0], "Attributes": {"ApproximateReceiveCount": "2"}}]
        done = second.invoke(as_records(again)).json()
        second.wait_idle()
        kept = int(ddb.get_item(TableName=table, Key=key)["Item"]["expires_at"]["N"])
        output = first.output + second.output
    assert killed.function_error and "stuck-1: claimed, and stuck" in output
    assert time.time() < lease <= time.time() + 3 + 1 + 30  # the deadline, a second, the margin
    assert done == {"batchItemFailures": []} and "stuck-1: done (attempt 3)" in output
    assert kept >= time.time() + 14 * 24 * 3600 - 60


@pytest.mark.parametrize("token", [None, "a-session-token"])
def test_the_guards_own_dynamodb_client_signs_as_botocore_does(token, monkeypatch):
    """moto does not check signatures: botocore's SigV4 signer, on the same request at the same
    moment with the same credentials, is the reference."""
    import datetime
    import time

    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from lambda_ack.dedupe.dynamodb import sign

    moment = time.gmtime(1_780_000_000)
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}
    if token:
        env["AWS_SESSION_TOKEN"] = token
    body = b'{"TableName": "t", "Key": {"key": {"S": "event:Ev1"}}}'
    host = "dynamodb.eu-west-1.amazonaws.com"
    credentials = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], token)
    ours = sign("DeleteItem", body, host, "eu-west-1", credentials, moment)
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.DeleteItem",
        },
    )
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], token)
    at = datetime.datetime.fromtimestamp(1_780_000_000, datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: at)
    SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]


def test_an_environment_remembers_its_newest_claims_only(table, moto_url, monkeypatch):
    """A claim that succeeds is never released, so an environment that lives for days must not
    keep every claim's id: it keeps the newest (LIMIT; 2 here). A release of an older one no
    longer reaches the table, which the other environment sees as still claimed."""
    from lambda_ack.dedupe import table as table_module

    monkeypatch.setattr(table_module, "LIMIT", 2)
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(name, value)
    here, elsewhere = (table_module.TableSeenRequests(table) for _ in range(2))
    assert all(here.claim(key) for key in ("k1", "k2", "k3"))
    here.release("k1")  # out of the window: forgotten here, still claimed in the table
    here.release("k3")
    assert (elsewhere.claim("k1"), elsewhere.claim("k3")) == (False, True)


def test_with_snapstarts_credentials_endpoint_the_table_is_signed_with_what_it_answers(
    monkeypatch,
):
    from lambda_ack.dedupe import table as table_module

    # One stand-in for two AWS endpoints: the container credentials endpoint (`GET
    # /credentials`, as Lambda gives SnapStart functions) and DynamoDB (`POST /`, answered `{}`:
    # a claim that succeeds), each request recorded with its headers.
    stand_in = LoopbackServer()
    stand_in.answer(
        "/credentials",
        json.dumps(
            {
                "AccessKeyId": "ASIACONTAINER",
                "SecretAccessKey": "container-secret",
                "Token": "container-session-token",
                "Expiration": "2999-01-01T00:00:00Z",
            }
        ).encode(),
    )
    stand_in.answer("/", b"{}")
    try:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)  # as Lambda leaves them with SnapStart
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{stand_in.url}/credentials")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "the-authorization-token")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", stand_in.url)
        store = table_module.TableSeenRequests("t")
        assert store.claim("k1") and store.claim("k2")
        table_module.restored()  # a SnapStart restore: the credentials are fetched again
        assert store.claim("k3")
    finally:
        stand_in.close()

    fetches = [r for r in stand_in.requests if r.method == "GET"]
    assert len(fetches) == 2  # once for the first two calls, once after the restore
    assert all(r.headers["authorization"] == "the-authorization-token" for r in fetches)
    calls = [r.headers for r in stand_in.requests if r.method == "POST"]
    assert len(calls) == 3
    assert all("Credential=ASIACONTAINER/" in c["authorization"] for c in calls)
    assert all(c["x-amz-security-token"] == "container-session-token" for c in calls)
