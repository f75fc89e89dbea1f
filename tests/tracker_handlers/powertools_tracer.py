"""The Powertools Tracer as its docs write it (`@tracer.capture_lambda_handler`), deferring a
callback that works (`{"defer": true}`), one that fails (`{"fail": true}`), or one that waits
for SIGTERM (`{"block": true}`)."""

from aws_lambda_powertools import Tracer
from deferred_work import charge_card, send_receipt, wait_for_shutdown

from runtime import defer

tracer = Tracer(service="orders")


@tracer.capture_lambda_handler
def handler(event, context):
    if event.get("defer"):
        defer(send_receipt)
    if event.get("fail"):
        defer(charge_card)
    if event.get("block"):
        defer(wait_for_shutdown)
    return {"ok": True}
