"""A function as Sentry's AWS Lambda guide writes it: init at import, the integration on."""

import os

import sentry_sdk
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

from runtime import defer

sentry_sdk.init(
    dsn=os.environ["SENTRY_DSN"],
    integrations=[AwsLambdaIntegration()],
    traces_sample_rate=1.0,
)


def handler(event, context):
    defer(print, "deferred work still runs")
    if event.get("fail"):
        raise ValueError("this invocation fails")
    return {"ok": True}
