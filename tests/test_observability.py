"""What a deferred callback emits is the invocation's own: written or sent before the next event is
asked for, attributed to its invocation, never merged into the next one; the same at SIGTERM.

Real libraries, pinned for development, under the emulator (`./bootstrap`): Powertools Metrics
(EMF on stdout), the Powertools Tracer over the X-Ray SDK (a UDP stand-in for the X-Ray daemon),
OpenTelemetry started as its Lambda layer starts it (a loopback stand-in for the collector's
OTLP/HTTP endpoint), Sentry (a loopback stand-in for its ingest endpoint). The emulator counts an
invocation as ended when the runtime asks for the next event: `wait_idle` returning is
"before invocation N+1 starts" (and with `freeze`, the process is then stopped, as Lambda freezes
it, its sending threads too).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import uuid
from pathlib import Path

from test_trackers import (
    TRACKER_HANDLERS,
    envelope,
    envelopes_sent,
    spans_sent,
    with_sentry,
)

from lambda_ack.cli.local.loopback import LoopbackServer


def emf_blobs(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def metric_names(blob: dict) -> set[str]:
    return {
        metric["Name"]
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


def before_the_end_of(output: str, nth: int) -> str:
    """The output up to the `nth` (from 1) invocation's timeline line."""
    lines = output.splitlines(keepends=True)
    done = [i for i, line in enumerate(lines) if "invocation done" in line]
    return "".join(lines[: done[nth - 1]])


def test_powertools_metrics_from_deferred_work_are_written_in_their_own_invocation(emulator):
    function = emulator("powertools_metrics.handler", TRACKER_HANDLERS, timeline=None)
    function.invoke({"defer": True})
    function.invoke({})
    function.wait_idle()
    function.wait_output("invocation done", count=2)

    first, second = before_the_end_of(function.output, 1), function.output
    blobs_of_first = [metric_names(blob) for blob in emf_blobs(first)]
    assert blobs_of_first == [{"Handled"}, {"DeferredWork"}], function.output
    deferred = emf_blobs(first)[1]
    assert deferred["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LambdaAck"
    assert deferred["service"] == "orders"  # the handler's provider, its dimensions
    blobs_of_second = [metric_names(blob) for blob in emf_blobs(second)[2:]]
    assert blobs_of_second == [{"Handled"}], function.output


def test_powertools_metrics_from_deferred_work_are_written_at_sigterm(emulator):
    function = emulator("powertools_metrics.handler", TRACKER_HANDLERS, timeline=None)
    function.invoke({"block": True})
    function.wait_output("deferred callback waiting")
    function.close()  # SIGTERM, as Lambda ends the environment

    assert [metric_names(blob) for blob in emf_blobs(function.output)] == [
        {"Handled"},
        {"DeferredBeforeShutdown"},
    ], function.output
    assert function.output.index("DeferredBeforeShutdown") < function.output.index(
        "shutdown complete"
    )


class XRayDaemon:
    """A stand-in for the X-Ray daemon: UDP on loopback, each segment document recorded."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.documents: list[dict] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                packet = self._socket.recv(65536)
            except OSError:
                return
            header, _, body = packet.partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            with self._cond:
                self.documents.append(json.loads(body))
                self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.documents) >= count, timeout):
                raise AssertionError(f"{count} segment documents expected: {self.documents}")
            return list(self.documents)

    def close(self) -> None:
        self._socket.close()


def traced(trace_root: str) -> dict[str, str]:
    """An invoke header that starts a sampled trace, as Lambda's front end does."""
    return {"X-Amzn-Trace-Id": f"Root={trace_root};Parent={uuid.uuid4().hex[:16]};Sampled=1"}


def new_root() -> str:
    return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"


def test_the_tracer_records_each_deferred_callback_as_a_subsegment_of_its_invocation(emulator):
    daemon = XRayDaemon()
    try:
        env = {"AWS_XRAY_DAEMON_ADDRESS": daemon.address, "POWERTOOLS_SERVICE_NAME": "orders"}
        function = emulator("powertools_tracer.handler", TRACKER_HANDLERS, env=env, timeline=None)
        first, second = new_root(), new_root()
        function.invoke({"defer": True, "fail": True}, headers=traced(first))
        function.wait_idle()
        # Sent (UDP) before the runtime asked for the next event; the stand-in reads them.
        of_first = daemon.wait_for(3)
        function.invoke({}, headers=traced(second))
        function.wait_idle()
        documents = daemon.wait_for(4)
    finally:
        daemon.close()

    assert sorted(d["name"] for d in of_first) == [
        "## handler",
        "deferred charge_card",
        "deferred send_receipt",
    ], of_first
    assert {d["trace_id"] for d in of_first} == {first}
    handler = next(d for d in of_first if d["name"] == "## handler")
    receipt = next(d for d in of_first if d["name"] == "deferred send_receipt")
    card = next(d for d in of_first if d["name"] == "deferred charge_card")
    assert receipt["parent_id"] == handler["parent_id"]  # both under the function's segment
    assert receipt["start_time"] >= handler["end_time"]
    assert receipt["annotations"] == {"deferred_callback": "send_receipt", "attempt": 1}
    assert "fault" not in receipt and "error" not in receipt
    assert card.get("fault") or card.get("error"), card
    (exception,) = card["cause"]["exceptions"]
    assert exception["message"] == "the card was declined"
    assert [d["name"] for d in documents[3:]] == ["## handler"]
    assert documents[3]["trace_id"] == second


def test_the_tracer_records_the_callback_sigterm_interrupted(emulator):
    daemon = XRayDaemon()
    try:
        env = {"AWS_XRAY_DAEMON_ADDRESS": daemon.address, "POWERTOOLS_SERVICE_NAME": "orders"}
        function = emulator("powertools_tracer.handler", TRACKER_HANDLERS, env=env, timeline=None)
        root = new_root()
        function.invoke({"block": True}, headers=traced(root))
        function.wait_output("deferred callback waiting")
        function.close()
        documents = daemon.wait_for(2)
    finally:
        daemon.close()

    interrupted = next(d for d in documents if d["name"] == "deferred wait_for_shutdown")
    assert interrupted["trace_id"] == root and "end_time" in interrupted
    (exception,) = interrupted["cause"]["exceptions"]
    assert "SIGTERM" in exception["message"]


OTEL_ENV = {
    "AWS_LAMBDA_EXEC_WRAPPER": str(TRACKER_HANDLERS / "otel-instrument"),
    "OTEL_INSTRUMENT": str(Path(sys.executable).with_name("opentelemetry-instrument")),
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_TRACES_EXPORTER": "otlp_proto_http",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def attribute(span, key: str):
    value = next(a.value for a in span.attributes if a.key == key)
    return value.string_value or value.int_value


def test_opentelemetry_spans_of_deferred_work_are_children_of_the_invocations_span(emulator):
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    with LoopbackServer() as collector:
        env = {**OTEL_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        function = emulator(
            "with_otel.handler", TRACKER_HANDLERS, env=env, timeline=None, freeze=True
        )
        function.invoke({"defer": True, "fail_callback": True})
        function.wait_idle()
        of_first = spans_sent(collector)  # exported before the runtime asked for the next event
        function.invoke({})
        function.wait_idle()
        spans = spans_sent(collector)

    (invocation,) = [span for span in of_first if span.kind == Span.SPAN_KIND_SERVER]
    deferred = {span.name: span for span in of_first if span.kind == Span.SPAN_KIND_INTERNAL}
    assert sorted(deferred) == [
        "deferred charge_card",
        "deferred print",
        "deferred send_receipt",
    ], of_first
    request_id = function.timelines[0].request_id
    for span in deferred.values():
        assert span.trace_id == invocation.trace_id
        assert span.parent_span_id == invocation.span_id
        assert span.start_time_unix_nano >= invocation.end_time_unix_nano
        assert attribute(span, "faas.invocation_id") == request_id
    assert deferred["deferred send_receipt"].status.code == Status.STATUS_CODE_UNSET
    card = deferred["deferred charge_card"]
    assert card.status.code == Status.STATUS_CODE_ERROR
    (exception,) = [event for event in card.events if event.name == "exception"]
    assert attribute(exception, "exception.message") == "the card was declined"
    later = spans[len(of_first) :]
    assert sorted(span.name for span in later) != [] and all(
        span.trace_id != invocation.trace_id for span in later
    )
    assert {attribute(span, "faas.invocation_id") for span in later if span.kind == 2} == {
        function.timelines[1].request_id
    }


def test_opentelemetry_ends_and_sends_the_span_sigterm_interrupted(emulator):
    from opentelemetry.proto.trace.v1.trace_pb2 import Status

    with LoopbackServer() as collector:
        env = {**OTEL_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        function = emulator("with_otel.handler", TRACKER_HANDLERS, env=env, timeline=None)
        function.invoke({"block": True})
        function.wait_output("deferred callback waiting")
        function.close()
        spans = spans_sent(collector)

    interrupted = next(span for span in spans if span.name == "deferred wait_for_shutdown")
    assert interrupted.status.code == Status.STATUS_CODE_ERROR
    assert "SIGTERM" in interrupted.status.message


def sentry_events(sentry: LoopbackServer) -> list[dict]:
    """The error events of the envelopes sent so far (header, item header, item, ...)."""
    events = []
    for request in envelopes_sent(sentry):
        lines = envelope(request).split(b"\n")
        for header, item in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header)["type"] == "event":
                events.append(json.loads(item))
    return events


def test_sentry_captures_a_deferred_callbacks_exception_with_its_request_id(emulator):
    with LoopbackServer() as sentry:
        # Frozen between invocations, as Lambda does: Sentry's sending thread stops too.
        function = with_sentry(emulator, sentry, "with_sentry.handler", freeze=True)
        function.invoke({"fail_callback": True})
        function.wait_idle()
        of_first = sentry_events(sentry)  # sent before the runtime asked for the next event
        function.invoke({})
        function.wait_idle()
        function.close()
        events = sentry_events(sentry)

    (event,) = of_first
    (exception,) = event["exception"]["values"]
    assert exception["value"] == "the card was declined"
    assert exception["mechanism"] == {"type": "lambda_ack.deferred", "handled": False}
    assert event["extra"]["lambda"]["aws_request_id"] == function.timelines[0].request_id
    assert event["tags"]["deferred_callback"] == "charge_card"
    assert events == of_first  # the next invocation sent no error of its own or of the first


def test_sentry_sends_a_deferred_callbacks_exception_at_sigterm(emulator):
    with LoopbackServer() as sentry:
        function = with_sentry(emulator, sentry, "with_sentry.handler")
        answer = function.invoke({"block": True})
        function.wait_output("deferred callback waiting")
        function.close()
        events = sentry_events(sentry)
    (event,) = events
    assert event["exception"]["values"][0]["value"] == "the card was declined"
    assert event["extra"]["lambda"]["aws_request_id"] == answer.headers["x-amzn-requestid"]


def test_hooks_registered_with_on_invocation_end_run_after_the_deferred_work(emulator):
    function = emulator("invocation_end.handler", TRACKER_HANDLERS, timeline=None)
    function.invoke({})
    function.wait_idle()
    function.wait_output("invocation done")
    output = function.output
    assert output.index("deferred work ran") < output.index("flushed after the deferred work")
    assert output.index("flushed after the deferred work") < output.index("invocation done")
    assert "telemetry flush" in output and "broken_flush" in output  # a failing hook is logged


def test_powertools_logger_keys_are_on_every_line_deferred_work_logs(emulator):
    """No integration: the Logger keeps the keys `inject_lambda_context` appended until the next
    invocation replaces them, and the runtime keeps the invocation's trace id set through the
    deferred phase, so a callback's lines carry its invocation's request, correlation and
    trace ids."""
    function = emulator("powertools_logger.handler", TRACKER_HANDLERS, timeline=None)
    roots = [new_root(), new_root()]
    for n, root in enumerate(roots):
        event = {"order": n, "correlation_id": f"corr-{n}"}
        function.invoke(event, headers=traced(root))
    function.wait_idle()
    function.wait_output("receipt sent", count=2)

    lines = [json.loads(line) for line in function.output.splitlines() if '"service"' in line]
    receipts = [line for line in lines if line["message"] == "receipt sent"]
    assert [line["order"] for line in receipts] == [0, 1]
    for n, line in enumerate(receipts):
        assert line["function_request_id"] == function.timelines[n].request_id
        assert line["correlation_id"] == f"corr-{n}"
        assert line["xray_trace_id"] == roots[n]
