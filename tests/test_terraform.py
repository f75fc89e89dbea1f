"""The Terraform module (terraform/): formatted, valid, and applied with every opt-in on against
moto's standalone server (pinned), the AWS provider's endpoints pointed at it and test
credentials given; what it made read back with boto3 as the module promises; then destroyed.

Terraform and the hashicorp/aws provider come from this machine (terraform_support): without
either, each test fails with one line saying what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import terraform_support
from sqs_support import aws_client
from terraform_support import HANDOFF_KEY as KEY

MODULE = terraform_support.MODULE


@pytest.fixture(scope="module")
def tf(tmp_path_factory) -> terraform_support.Terraform:
    """`tf(*args, cwd=...)`: terraform with the mirror as its only provider source."""
    if (what := terraform_support.missing()) is not None:
        pytest.fail(what, False)
    return terraform_support.Terraform(tmp_path_factory.mktemp("tfrc"))


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    return terraform_support.copy_module(tmp_path_factory.mktemp("repo"))


def test_the_module_is_formatted(tf):
    tf("fmt", "-check", "-recursive", "-diff", str(MODULE), cwd=MODULE)


@pytest.mark.parametrize("example", ["slack-example", "image"])
def test_each_example_inits_from_the_mirror_and_validates(tf, copy, example):
    folder = copy / "terraform" / "examples" / example
    tf("init", "-input=false", "-backend=false", cwd=folder)
    assert "Success! The configuration is valid." in tf("validate", cwd=folder).stdout


@pytest.fixture
def applied(tf) -> Iterator[terraform_support.Apply]:
    """The example applied with every opt-in on, started when collection ended."""
    apply = terraform_support.take_apply()
    yield apply.result()
    apply.stop()


def test_apply_against_moto_makes_what_the_module_promises_and_destroy_removes_it(applied):
    done = applied
    moto_url, outputs = done.moto.url, done.outputs
    secrets = (terraform_support.APPLY_VARIABLES["slack_signing_secret"], KEY)
    assert not [s for s in secrets if s in done.applied.stdout]  # sensitive: never printed
    lam, sqs, iam, ddb, logs = (
        aws_client(s, moto_url) for s in ("lambda", "sqs", "iam", "dynamodb", "logs")
    )

    function = lam.get_function(FunctionName="tf-bot")["Configuration"]
    assert (function["Runtime"], function["Handler"]) == (
        "provided.al2023",
        "handler_example/app.handler",
    )
    assert function["Architectures"] == ["x86_64"] and function["Timeout"] == 60
    assert [layer["Arn"].split(":")[-2] for layer in function["Layers"]] == ["tf-bot-python"]
    variables = function["Environment"]["Variables"]
    queue_url = sqs.get_queue_url(QueueName="tf-bot-handoff")["QueueUrl"]
    assert variables["SLACK_SIGNING_SECRET"] == "the-signing-secret"
    assert variables["LAMBDA_RUNTIME_HANDOFF_QUEUE_URL"] == queue_url
    assert variables["LAMBDA_RUNTIME_HANDOFF_KEY"] == KEY
    assert variables["LAMBDA_RUNTIME_DEDUPE_TABLE"] == "tf-bot-dedupe"
    assert variables["LAMBDA_RUNTIME_RESPONSE_STREAMING"] == ""  # a BUFFERED URL

    url = lam.get_function_url_config(FunctionName="tf-bot")
    assert (url["AuthType"], url["InvokeMode"]) == ("NONE", "BUFFERED")
    assert outputs["slack_request_url"]["value"] == url["FunctionUrl"]
    statements = json.loads(lam.get_policy(FunctionName="tf-bot")["Policy"])["Statement"]
    # A set: moto keeps a repeated AddPermission twice where AWS refuses a second same Sid.
    assert {(s["Sid"], s["Action"], s["Principal"]) for s in statements} == {
        ("FunctionURLAllowPublicAccess", "lambda:InvokeFunctionUrl", "*")
    }

    # Least privilege: its own log group, its own queue, its own table, nothing else.
    role = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    statements = policy if isinstance(policy, dict) else json.loads(policy)
    granted = {
        s["Sid"]: (sorted(_list(s["Action"])), _list(s["Resource"]))
        for s in statements["Statement"]
    }
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    table = ddb.describe_table(TableName="tf-bot-dedupe")["Table"]
    assert granted == {
        "Logs": (["logs:CreateLogStream", "logs:PutLogEvents"], [_log_group_arn(logs) + ":*"]),
        "HandOff": (
            sorted(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage", "sqs:SendMessage"]),
            [queue_arn],
        ),
        "DuplicateGuard": (["dynamodb:DeleteItem", "dynamodb:PutItem"], [table["TableArn"]]),
    }  # fmt: skip

    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":tf-bot-handoff-dlq")
    assert int(redrive["maxReceiveCount"]) == 5 and attributes["VisibilityTimeout"] == "360"
    (deny,) = json.loads(attributes["Policy"])["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Resource"]) == (
        "Deny",
        "sqs:SendMessage",
        queue_arn,
    )
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": function["Role"]}}
    dlq = sqs.get_queue_url(QueueName="tf-bot-handoff-dlq")["QueueUrl"]
    dlq_attributes = sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["MessageRetentionPeriod"]
    )
    assert dlq_attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"
    (mapping,) = lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
    assert mapping["FunctionArn"] == function["FunctionArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    assert table["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName="tf-bot-dedupe")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/tf-bot")["logGroups"]
    assert group["retentionInDays"] == 30

    done.destroy()
    assert lam.list_functions()["Functions"] == [] or "tf-bot" not in {
        f["FunctionName"] for f in lam.list_functions()["Functions"]
    }
    assert not [u for u in sqs.list_queues().get("QueueUrls", []) if "/tf-bot-" in u]
    assert "tf-bot-dedupe" not in ddb.list_tables()["TableNames"]
    assert not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/tf-bot")["logGroups"]
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role]


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _log_group_arn(logs) -> str:
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/tf-bot")["logGroups"]
    return group["arn"].removesuffix(":*")
