"""The Powertools Logger as its docs write it: the Lambda context injected, a correlation id taken
from the event; a deferred callback logs."""

from aws_lambda_powertools import Logger

from runtime import defer

logger = Logger(service="orders")


def send_receipt(order):
    logger.info("receipt sent", extra={"order": order})


@logger.inject_lambda_context(correlation_id_path="correlation_id")
def handler(event, context):
    logger.info("order taken")
    defer(send_receipt, event["order"])
    return {"ok": True}
