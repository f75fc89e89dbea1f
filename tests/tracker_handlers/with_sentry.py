"""A function as Sentry's AWS Lambda guide writes it: init at import, the integration on. Its
deferred callbacks: one that fails (`{"fail_callback": true}`); one that fails and then one that
waits for SIGTERM (`{"block": true}`)."""

import os

import sentry_sdk
from deferred_work import charge_card, wait_for_shutdown
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

from runtime import defer

sentry_sdk.init(
    dsn=os.environ["SENTRY_DSN"],
    integrations=[AwsLambdaIntegration()],
    traces_sample_rate=1.0,
)


def handler(event, context):
    defer(print, "deferred work still runs")
    if event.get("fail_callback") or event.get("block"):
        defer(charge_card)
    if event.get("block"):
        defer(wait_for_shutdown)
    if event.get("fail"):
        raise ValueError("this invocation fails")
    return {"ok": True}
