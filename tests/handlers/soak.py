"""The soak mix: each event says what the invocation does, the answer says what it registered."""

from runtime import defer

done = {"callbacks": 0}


def count() -> None:
    done["callbacks"] += 1


def broken() -> None:
    raise RuntimeError("deferred failure")


def handler(event, context):
    kind = event["kind"]
    defer(count)
    if kind == "error":
        defer(count)
        raise ValueError(f"handler error {event['n']}")
    if kind == "callback_fail":
        defer(broken)
    return {"n": event["n"], "callbacks_so_far": done["callbacks"]}
