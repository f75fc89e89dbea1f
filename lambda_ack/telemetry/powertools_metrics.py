"""Powertools Metrics: what a deferred callback adds is written in its own invocation.

`@metrics.log_metrics` writes the EMF blob when the handler returns; a metric added after that
waited in Powertools' shared metric set for the next invocation's blob, or was lost with the
environment. At the flush point, whatever was added since is written as a blob of its own,
through the provider that wrote the handler's (its namespace, service and default dimensions).
The provider is noted by wrapping its `flush_metrics`, the one place every blob goes through.
"""

from __future__ import annotations

import weakref

from lambda_ack.telemetry.tools import Integration


class PowertoolsMetrics(Integration):
    def __init__(self) -> None:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch

        provider_class = cloudwatch.AmazonCloudWatchEMFProvider
        self._last: weakref.ref | None = None
        original = provider_class.flush_metrics
        integration = self

        def flush_metrics(provider, *args, **kwargs):
            integration._last = weakref.ref(provider)
            return original(provider, *args, **kwargs)

        flush_metrics.__wrapped__ = original
        flush_metrics.__doc__ = original.__doc__
        provider_class.flush_metrics = flush_metrics

    def flush(self, budget_s: float, final: bool) -> None:
        provider = self._last() if self._last is not None else None
        if provider is not None and provider.metric_set:
            provider.flush_metrics()


def integration() -> Integration:
    return PowertoolsMetrics()
