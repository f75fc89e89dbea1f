"""A function that knows nothing of OpenTelemetry: the layer's wrapper instruments it."""

from runtime import defer


def handler(event, context):
    defer(print, "deferred work still runs")
    if event.get("fail"):
        raise ValueError("this invocation fails")
    return {"ok": True}
