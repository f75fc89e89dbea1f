"""What a function finds loaded of what it has not asked for: the callback machinery until it
defers, `importlib` never (the runtime looks for telemetry tools without it)."""

import sys

from runtime import defer

MACHINERY = (
    "lambda_ack.deferred.durable",
    "lambda_ack.deferred.retries",
    "lambda_ack.deferred.watchdog",
    "lambda_ack.deferred.timer",
    "importlib",
)


def handler(event, context):
    if event.get("defer"):
        defer(print, "deferred line")
    return sorted(name for name in MACHINERY if name in sys.modules)
