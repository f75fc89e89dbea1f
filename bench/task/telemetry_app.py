"""One handler for bench/telemetry.py: it defers a no-op callback and returns a small dict. Which
observability tools are loaded (imported and set up as their docs set them up, but given nothing
to record) is `BENCH_TOOLS`: a comma-separated list of metrics, xray, otel, sentry, or empty."""

import os

from runtime import defer

tools = set(filter(None, os.environ.get("BENCH_TOOLS", "").split(",")))

if "metrics" in tools:
    from aws_lambda_powertools import Metrics

    metrics = Metrics(namespace="Bench", service="bench")
if "xray" in tools:
    from aws_xray_sdk.core import xray_recorder  # noqa: F401
if "otel" in tools:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())
if "sentry" in tools:
    import sentry_sdk

    sentry_sdk.init(dsn=os.environ["BENCH_SENTRY_DSN"])


def nothing():
    pass


def handler(event, context):
    defer(nothing)
    return {"ok": True}
