"""The handler both runtimes serve in the benchmark: trivial, so the runtime's own cost shows.

One function for every phase, so each runtime process serves the whole run: an event carrying
`defer_s` (sent to lambda-ack only) leaves that much work for after the response.
"""

import time


def handler(event, context):
    if "defer_s" in event:
        from runtime import defer

        defer(time.sleep, event["defer_s"])
    return {"statusCode": 200, "body": "ok"}
