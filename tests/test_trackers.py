"""Error trackers and tracing agents that hook the runtime work here as on the managed runtime.

Real `sentry_sdk` (pinned for development) with its AwsLambdaIntegration, through `./bootstrap`
on the emulator; a loopback server stands in for Sentry's ingest endpoint and records each
envelope. On awslambdaric one good and one failing invocation send three envelopes: two
transactions and the error.

Real OpenTelemetry (SDK, OTLP exporter, `opentelemetry-instrument` and the AWS Lambda
instrumentation, pinned for development) started the way the OpenTelemetry Lambda layer starts
it: an exec wrapper, a `sitecustomize` and a handler behind the layer's wrapper module; a
loopback server stands in for the collector's OTLP/HTTP endpoint.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from lambda_ack.cli.local.loopback import LoopbackServer

TRACKER_HANDLERS = Path(__file__).resolve().parent / "tracker_handlers"


def envelope(request) -> bytes:
    body = request.body
    return gzip.decompress(body) if request.headers.get("content-encoding") == "gzip" else body


def envelope_items(request) -> list[dict]:
    """The item headers of one Sentry envelope (newline-separated JSON: header, then pairs)."""
    lines = envelope(request).split(b"\n")
    return [json.loads(line) for line in lines[1::2] if line.strip()]


def with_sentry(emulator, sentry: LoopbackServer, handler: str, **kwargs):
    """The function `handler` on the emulator, reporting to the `sentry` stand-in."""
    dsn = f"http://public@{sentry.url.removeprefix('http://')}/1"
    return emulator(handler, TRACKER_HANDLERS, env={"SENTRY_DSN": dsn}, timeline=None, **kwargs)


def envelopes_sent(sentry: LoopbackServer) -> list:
    return [r for r in sentry.requests if r.path == "/api/1/envelope/"]


def test_sentry_reports_transactions_and_the_error_as_on_the_managed_runtime(emulator):
    with LoopbackServer() as sentry:
        function = with_sentry(emulator, sentry, "with_sentry.handler")
        ok = function.invoke({})
        failed = function.invoke({"fail": True})
        function.wait_idle()
        sentry.wait_until(lambda: len(envelopes_sent(sentry)) >= 3, 10, "three envelopes")
        envelopes = envelopes_sent(sentry)

    assert ok.json() == {"ok": True} and failed.function_error == "Unhandled"
    kinds = sorted(item["type"] for request in envelopes for item in envelope_items(request))
    assert kinds.count("transaction") == 2 and kinds.count("event") == 1, kinds
    error = next(r for r in envelopes if any(i["type"] == "event" for i in envelope_items(r)))
    assert b"this invocation fails" in envelope(error) and b'"aws_lambda"' in envelope(error)
    assert "AwsLambdaIntegration disabled" not in function.output
    assert function.output.count("deferred work still runs") == 1  # only the good one's


def test_sentry_reports_an_init_failure(emulator):
    with LoopbackServer() as sentry:
        result = with_sentry(emulator, sentry, "sentry_init_fails.handler").invoke({})
        request = sentry.wait_for("/api/1/envelope/")
    assert result.json()["errorType"] == "LookupError"
    assert b"no configuration at import" in envelope(request)


def spans_sent(collector: LoopbackServer) -> list:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    exports = [r for r in collector.requests if r.path == "/v1/traces"]
    return [
        span
        for request in exports
        for resource in ExportTraceServiceRequest.FromString(request.body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def test_opentelemetry_lambda_layer_traces_each_invocation_as_on_the_managed_runtime(emulator):
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    with LoopbackServer() as collector:
        env = {
            "AWS_LAMBDA_EXEC_WRAPPER": str(TRACKER_HANDLERS / "otel-instrument"),
            "OTEL_INSTRUMENT": str(Path(sys.executable).with_name("opentelemetry-instrument")),
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp_proto_http",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
        function = emulator("with_otel.handler", TRACKER_HANDLERS, env=env, timeline=None)
        ok = function.invoke({})
        failed = function.invoke({"fail": True})
        function.wait_idle()
        # The instrumentation flushes before the handler returns: both spans are already sent
        # (and the good one's deferred callback's, test_observability).
        spans = [span for span in spans_sent(collector) if span.kind == Span.SPAN_KIND_SERVER]

    assert ok.json() == {"ok": True} and failed.function_error == "Unhandled"
    assert len(spans) == 2, function.output
    invocation_ids = [
        next(a.value.string_value for a in span.attributes if a.key == "faas.invocation_id")
        for span in spans
    ]
    assert invocation_ids == [timeline.request_id for timeline in function.timelines]
    assert [span.status.code for span in spans] == [
        Status.STATUS_CODE_UNSET,
        Status.STATUS_CODE_ERROR,
    ]
    (exception,) = [event for event in spans[1].events if event.name == "exception"]
    assert any(a.value.string_value == "this invocation fails" for a in exception.attributes)
    assert function.output.count("deferred work still runs") == 1  # only the good one's
