"""The invocation loop: next event → handler → response posted → deferred callbacks → next event.

The order is the product: the caller has its answer as soon as the handler returns (or calls
`ack()`: `lambda_ack.answer.acknowledgement`), or once the last byte of a `Stream` answer is sent,
and the deferred work runs while Lambda still counts this invocation (it ends only at the next
`/next`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from lambda_ack import deferred, durable_functions, logs, telemetry
from lambda_ack.answer import acknowledgement, marshal
from lambda_ack.api import Invocation, RuntimeAPI
from lambda_ack.context import LambdaContext
from lambda_ack.deferred import aio, phase
from lambda_ack.environment import origin
from lambda_ack.errors import CONTEXT_UNMARSHAL_ERROR, PROCESS_EXITS, Fault


def serve(api: RuntimeAPI, handler: Callable[..., object], margin_ms: int) -> None:
    """Serve invocations until the Runtime API says stop (an exception) or a handler exits."""
    telemetry.notice_tools()  # those the function imported at init see its first callbacks
    asked = time.perf_counter()
    invocation = api.next_invocation()
    origin.first_event_arrived(time.perf_counter() - asked)  # did it start this environment?
    serve_one(api, handler, invocation, margin_ms, True)
    while True:
        serve_one(api, handler, api.next_invocation(), margin_ms, False)


def serve_one(
    api: RuntimeAPI,
    handler: Callable[..., object],
    invocation: Invocation,
    margin_ms: int,
    cold_start: bool,
) -> None:
    started = time.perf_counter()
    logs.set_request(invocation.request_id, invocation.tenant_id)
    _set_trace_id(invocation.trace_id)
    batch = deferred.open_batch(invocation.request_id)
    api = tracked(api)
    answer = acknowledgement.begin(api, invocation, started, cold_start)

    answer.finish(*_run_handler(api, handler, invocation))

    try:
        counts = phase.run_batch(batch, invocation.deadline_ms, margin_ms, answer.discard_reason())
        aio.settle(invocation.deadline_ms, margin_ms)
    finally:  # the invocation's telemetry leaves now, also when a callback exits the process
        telemetry.invocation_ended(invocation.deadline_ms)
    finished = time.perf_counter()
    if answer.early:  # the rest of the handler was deferred work too
        counts.ran += 1
        counts.failed += answer.remainder_failed
    _log_timeline(answer, counts, finished)
    if isinstance(answer.failure, PROCESS_EXITS):
        raise answer.failure  # the caller has its answer; now exit


def _log_timeline(
    answer: acknowledgement.Acknowledgement, counts: phase.Counts, finished: float
) -> None:
    ack_ms = (answer.posted_at - answer.started) * 1000
    deferred_ms = (finished - answer.posted_at) * 1000
    streamed, stream_text = answer.streamed, ""
    if streamed is not None:  # the answer was a Stream: ack_ms is when its last byte went
        ttfb = "-" if streamed.ttfb_ms is None else f"{streamed.ttfb_ms:.2f}"
        stream_text = (
            f"ttfb_ms={ttfb} stream_bytes={streamed.bytes} stream_ms={streamed.stream_ms:.2f} "
        )
    logs.runtime_info(
        f"invocation done: ack_ms={ack_ms:.2f} ack_source={answer.source} {stream_text}"
        f"deferred_ms={deferred_ms:.2f} {counts.text()} "
        f"cold_start={'true' if answer.cold_start else 'false'}",
        # The JSON line's fields, made only for JSON logs: every invocation writes this line.
        lambda: _timeline_fields(answer, counts, ack_ms, deferred_ms),
    )


def _timeline_fields(
    answer: acknowledgement.Acknowledgement, counts: phase.Counts, ack_ms: float, deferred_ms: float
) -> dict[str, object]:
    fields: dict[str, object] = {}
    streamed = answer.streamed
    if streamed is not None:
        fields["stream"] = {
            "ttfbMs": None if streamed.ttfb_ms is None else round(streamed.ttfb_ms, 2),
            "bytes": streamed.bytes,
            "streamMs": round(streamed.stream_ms, 2),
        }
    fields.update(
        ackMs=round(ack_ms, 2),
        ackSource=answer.source,
        deferredMs=round(deferred_ms, 2),
        callbacks=counts.fields(),
        coldStart=answer.cold_start,
    )
    return fields


def tracked(api: RuntimeAPI) -> object:
    """The API client, routed through `lambda_ack.environment.tracker_hooks` once an error tracker
    patched it (it is imported only when one asks `__main__` for `bootstrap`)."""
    hooks = sys.modules.get("lambda_ack.environment.tracker_hooks")
    return api if hooks is None else hooks.routed(api)


def _run_handler(
    api: object, handler: Callable[..., object], invocation: Invocation
) -> tuple[object, BaseException | None]:
    if isinstance(api, RuntimeAPI):
        return call_handler(handler, invocation)
    # An error tracker wraps the handler on its way in, as it does on the managed runtime.
    return api.call_handler(handler, lambda wrapped: call_handler(wrapped, invocation))


def call_handler(
    handler: Callable[..., object], invocation: Invocation
) -> tuple[object, BaseException | None]:
    """Run the handler; return its result, or the exception that replaces it."""
    try:
        context = _context(invocation)
        event = marshal.decode_event(invocation.body, invocation.content_type)
        durable_functions.notice(event)
        result = handler(event, context)
        if hasattr(type(result), "__await__"):  # `async def` handler
            result = aio.run(result)
        return result, None
    except BaseException as e:  # every failure becomes an error payload for the caller
        return None, e


def _context(invocation: Invocation) -> LambdaContext:
    client_context, cognito_identity = invocation.client_context, invocation.cognito_identity
    return LambdaContext(
        invocation.request_id,
        invocation.deadline_ms,
        invocation.function_arn,
        _json_header(client_context, "Client Context") if client_context else None,
        _json_header(cognito_identity, "Cognito Identity") if cognito_identity else None,
        invocation.tenant_id,
    )


def _json_header(value: str, name: str) -> dict:
    import json

    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as e:
        raise Fault(CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {e}") from None
    if not isinstance(parsed, dict):
        raise Fault(
            CONTEXT_UNMARSHAL_ERROR,
            f"Unable to parse {name} JSON: a JSON object is expected, got {type(parsed).__name__}",
        )
    return parsed


def _set_trace_id(trace_id: str | None) -> None:
    """Put the invocation's trace id in `os.environ`, where the X-Ray SDK and user code read it.

    Only Python's mapping is updated, not the C environment: glibc's setenv keeps every value it
    was ever given, so exporting a fresh trace id per invocation leaks ~140 bytes each time
    (14 MB per 100,000 invocations, measured). A subprocess that needs the id must be given
    `env=os.environ` explicitly; with the default it inherits the process's start-up environment.
    """
    if trace_id:
        _environ_data[_TRACE_KEY] = trace_id.encode(_FS_ENCODING, "surrogateescape")
    else:
        _environ_data.pop(_TRACE_KEY, None)


# What os.environ's own encodekey/encodevalue do, without their two Python calls per invocation.
_environ_data = os.environ._data
_TRACE_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")
_FS_ENCODING = sys.getfilesystemencoding()
