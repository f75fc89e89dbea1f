"""A handler in a plain Python image: answered first, the deferred work after the answer."""

from runtime import defer


def handler(event, context):
    defer(print, f"after the answer to {context.aws_request_id}", flush=True)
    return {"served_by": "lambda-ack", "event": event}
