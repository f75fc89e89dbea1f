"""OpenTelemetry: a span per deferred callback, child of the span that deferred it; a flush.

The Lambda instrumentation's span ends with the handler and is flushed then; spans made later
would wait in a batch processor while Lambda freezes the environment, and leave with a later
invocation or never. Each attempt of a callback becomes an INTERNAL span `deferred <name>`,
child of the span that was current when `defer` was called (the invocation's, under the
instrumentation), with the request id and the attempt; an exception is recorded and sets its
status. At the flush point the tracer and meter providers are flushed (`force_flush`). With only
the API imported (no SDK set up, as when a library instruments itself), nothing is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lambda_ack.telemetry.tools import Integration, span_name


class OpenTelemetry(Integration):
    def __init__(self) -> None:
        from opentelemetry import context, trace

        self._context = context
        self._trace = trace
        self._no_sdk = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        self._tracers: tuple[object, object] | None = None  # (provider, its tracer)
        self._open: object | None = None

    def capture(self) -> object:
        return self._context.get_current()

    @contextmanager
    def observe(self, callback: object, attempt: int, captured: object) -> Iterator[None]:
        provider = self._trace.get_tracer_provider()
        if isinstance(provider, self._no_sdk):  # only the API: its spans would record nothing
            yield
            return
        from lambda_ack import logs

        tracer = self._tracer(provider)
        with tracer.start_as_current_span(
            span_name(callback),
            context=captured,
            kind=self._trace.SpanKind.INTERNAL,
            attributes={
                "faas.invocation_id": logs.request_id(),
                "lambda_ack.deferred.callback": callback.name,
                "lambda_ack.deferred.attempt": attempt,
            },
        ) as span:
            self._open = span
            try:
                yield
            finally:
                self._open = None

    def _tracer(self, provider: object) -> object:
        """The runtime's tracer from `provider`, made once: the SDK makes a new one (8 µs) at
        every `get_tracer`."""
        made = self._tracers
        if made is None or made[0] is not provider:
            made = self._tracers = (provider, provider.get_tracer("lambda_ack"))
        return made[1]

    def flush(self, budget_s: float, final: bool) -> None:
        span = self._open
        if final and span is not None:
            self._open = None
            span.set_status(
                self._trace.Status(
                    self._trace.StatusCode.ERROR,
                    "the environment shut down (SIGTERM) while this callback ran",
                )
            )
            span.end()
        timeout_ms = int(budget_s * 1000)
        for provider in (self._trace.get_tracer_provider(), _meter_provider()):
            force_flush = getattr(provider, "force_flush", None)
            if force_flush is not None:
                force_flush(timeout_ms)


def _meter_provider() -> object:
    import sys

    metrics = sys.modules.get("opentelemetry.metrics")
    return None if metrics is None else metrics.get_meter_provider()


def integration() -> Integration:
    return OpenTelemetry()
