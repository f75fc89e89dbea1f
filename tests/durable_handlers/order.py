"""A durable function as AWS's durable execution SDK documents it (`@durable_execution`, steps,
a wait), with a step that fails on its first attempt, so the service retries it. It also tries
what this runtime adds around a handler, and reports what became of each: an early `ack`, a
`defer` (plain and durable), and an ack guard armed to fire after 1 ms."""

import os
from pathlib import Path

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration

from lambda_ack.answer import acknowledgement
from lambda_ack.slack.guard import AckGuard
from runtime import ack, defer


def greet(name):
    return f"hello {name}"


def charge(step_context):
    marker = Path(os.environ["CHARGE_ATTEMPTS"])
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts == 1:
        raise ConnectionError("the payment service is down")
    return f"charged on attempt {attempts}"


def outcome(call):
    try:
        call()
    except RuntimeError as e:
        return str(e)
    return "accepted"


@durable_execution
def handler(event, context: DurableContext):
    AckGuard(after_ms=1).watch(acknowledgement.current(), print)
    refused = {
        "ack": outcome(lambda: ack({"status": "early"})),
        "defer": outcome(lambda: defer(print, "after the answer")),
        "durable defer": outcome(lambda: defer(greet, "later", durable=True)),
    }
    greeting = context.step(lambda _: greet(event["name"]), name="greet")
    context.wait(Duration.from_seconds(1), name="pause")
    charged = context.step(charge, name="charge")
    return {"greeting": greeting, "charged": charged, "refused": refused}
