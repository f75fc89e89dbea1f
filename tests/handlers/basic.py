"""Handlers for the runtime tests. Deferred callbacks post marks to the fake Runtime API, so the
server's one timeline shows their order relative to /response and the next /next."""

import logging
import os
import sys
import urllib.request

from runtime import defer


def mark(name: str) -> None:
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    request = urllib.request.Request(f"http://{address}/mark/{name}", data=b"", method="POST")
    urllib.request.urlopen(request).read()


async def amark(name: str) -> None:
    mark(name)


def fail(message: str) -> None:
    raise RuntimeError(message)


def echo(event, context):
    return {"event": event, "request_id": context.aws_request_id}


def with_callbacks(event, context):
    defer(mark, "first")
    context.defer(chain, "second")
    defer(mark, "third")
    return {"ack": True}


def chain(name: str) -> None:
    mark(name)
    defer(mark, f"{name}-child")


def failing_callback(event, context):
    defer(fail, "callback broke")
    defer(mark, "after-failure")
    return "ok"


def raising(event, context):
    defer(mark, "discarded")
    defer(mark, "cleanup", always=True)
    raise ValueError("boom")


def nested_raise(event, context):
    return _helper(event)


def _helper(event):
    return {}["missing"]


def unserialisable(event, context):
    defer(mark, "discarded")
    return {"items": {1, 2}}


def oversize(event, context):
    defer(mark, "discarded")
    return "x" * (event["size"])


async def async_handler(event, context):
    defer(amark, "async-callback")
    defer(mark, "sync-callback")
    return {"async": True}


def deadline(event, context):
    defer(wait_until_margin, context, int(os.environ["LAMBDA_RUNTIME_DEFER_MARGIN_MS"]))
    defer(mark, "too-late")
    return "ack"


def wait_until_margin(context, margin_ms: int) -> None:
    """Runs until the deadline is closer than the margin, so the next callback must be skipped."""
    while context.get_remaining_time_in_millis() >= margin_ms:
        os.sched_yield()
    mark("waited")


def context_facts(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "identity": [
            context.identity.cognito_identity_id,
            context.identity.cognito_identity_pool_id,
        ],
        "client_context": None
        if context.client_context is None
        else {
            "custom": context.client_context.custom,
            "env": context.client_context.env,
            "app_title": context.client_context.client.app_title,
        },
        "remaining_ms": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "sys_path0": sys.path[0],
        "w3c": context.w3c(),
        "has_w3c_key": bool(context.client_context) and hasattr(context.client_context, "w3c"),
    }


def logs(event, context):
    logger = logging.getLogger("app")
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("warning line", extra={"order": 7, "unset": None})
    logger.warning({"event": "structured", "count": 2})
    try:
        {}["k"]
    except KeyError:
        logger.exception("caught")
    print("printed line")
    return "logged"


def raw_bytes(event, context):
    return b"\x00\x01binary"


def event_type(event, context):
    return type(event).__name__


def exits(event, context):
    defer(mark, "after-exit")
    sys.exit(3)


def not_callable_yet(event, context):
    return "unused"


not_a_function = 42


def wrapped(event, context):
    return os.environ.get("WRAPPED")


def environment(event, context):
    return dict(os.environ)


def event_size(event, context):
    return len(event["text"])


def own_formatters(event, context):
    """The recipes that set a formatter on the runtime's handler, then log."""
    import logging

    from pythonjsonlogger.json import JsonFormatter

    handler = logging.getLogger().handlers[0]
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("app")
    log.warning("first record")
    log.warning("second record")
    try:
        {}["k"]
    except KeyError:
        log.exception("with a traceback")
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s"))
    log.warning("json one")
    log.warning("json two")
    return "logged"
