"""Powertools Metrics as its docs write it: `@metrics.log_metrics`, a metric in the handler and
one in a deferred callback (event `{"defer": true}`); `{"block": true}`: the callback adds its
metric, says so, and waits for SIGTERM."""

import threading

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from runtime import defer

metrics = Metrics(namespace="LambdaAck", service="orders")


def count_deferred(name):
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_then_wait():
    count_deferred("DeferredBeforeShutdown")
    print("deferred callback waiting", flush=True)
    threading.Event().wait()


@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="Handled", unit=MetricUnit.Count, value=1)
    if event.get("defer"):
        defer(count_deferred, "DeferredWork")
    if event.get("block"):
        defer(count_then_wait)
    return {"ok": True}
