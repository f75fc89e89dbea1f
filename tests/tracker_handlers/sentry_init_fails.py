"""Sentry set up first, then the module fails its init: the managed runtime reports it to Sentry."""

import os

import sentry_sdk
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], integrations=[AwsLambdaIntegration()])

raise LookupError("no configuration at import")
