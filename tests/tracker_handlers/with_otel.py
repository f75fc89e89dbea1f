"""A function that knows nothing of OpenTelemetry: the layer's wrapper instruments it. Its
deferred callbacks: one that works (`{"defer": true}`), one that fails (`{"fail": true}`), one
that waits for SIGTERM (`{"block": true}`)."""

from deferred_work import charge_card, send_receipt, wait_for_shutdown

from runtime import defer


def handler(event, context):
    defer(print, "deferred work still runs")
    if event.get("defer"):
        defer(send_receipt)
    if event.get("fail_callback"):
        defer(charge_card)
    if event.get("block"):
        defer(wait_for_shutdown)
    if event.get("fail"):
        raise ValueError("this invocation fails")
    return {"ok": True}
