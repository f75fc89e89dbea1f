"""Handlers for the runtime tests. Deferred callbacks post marks to the fake Runtime API, so the
server's one timeline shows their order relative to /response and the next /next."""

import os
import urllib.request

from runtime import defer


def mark(name: str) -> None:
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    urllib.request.urlopen(
        urllib.request.Request(f"http://{address}/mark/{name}", data=b"", method="POST")
    ).read()


def echo(event, context):
    return {"event": event, "request_id": context.aws_request_id}


def with_callbacks(event, context):
    defer(mark, "first")
    context.defer(mark, "second")
    return {"ack": True}
