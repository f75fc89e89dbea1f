"""The handler both runtimes serve in the benchmark: trivial, so the runtime's own cost shows.

One function for every phase, so each runtime process serves the whole run: an event carrying
`defer_s` (sent to lambda-ack only) leaves that much work for after the response; `ack_then_s`
acknowledges with `runtime.ack` and then works that long in the handler; `work_s` works that
long in the handler before answering (awslambdaric's way to do the same work).
`--env BENCH_IMPORTS=logging,json` makes it import those modules first, as a function that uses
them would (most do: boto3, requests, slack_sdk and Powertools all import `logging`).
"""

import os
import time

# `__import__`, not `importlib.import_module`: the handler itself must not load `importlib` (with
# `warnings`, about 0.7 ms), which awslambdaric loads anyway and a trivial handler never needs.
for _name in filter(None, os.environ.get("BENCH_IMPORTS", "").split(",")):
    __import__(_name)


def handler(event, context):
    if "ack_then_s" in event:  # acknowledge with runtime.ack, then work in the handler itself
        import runtime

        runtime.ack({"statusCode": 200, "body": "ok"})
        time.sleep(event["ack_then_s"])
        return None
    if "work_s" in event:  # the same work in the handler, for a runtime that cannot defer
        time.sleep(event["work_s"])
    if "defer_s" in event:
        from runtime import defer

        defer(time.sleep, event["defer_s"])
    return {"statusCode": 200, "body": "ok"}
