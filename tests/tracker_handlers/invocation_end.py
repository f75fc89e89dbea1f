"""`on_invocation_end` hooks: one that says when it ran, and one that fails."""

from runtime import defer, on_invocation_end


@on_invocation_end
def broken_flush():
    raise ConnectionError("the metrics endpoint is down")


@on_invocation_end
def flush():
    print("flushed after the deferred work", flush=True)


def handler(event, context):
    defer(print, "deferred work ran")
    return {"ok": True}
