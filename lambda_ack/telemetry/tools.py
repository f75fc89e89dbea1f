"""The tools the runtime knows, how it tells one is in use, and what each integration offers.

A tool is in use once the function has imported it (its module is in `sys.modules`): the
integration is imported then, not before, so it costs nothing to a function without the tool.
"""

from __future__ import annotations

import os
import sys

# typing.TYPE_CHECKING without importing `typing`, which (with `contextlib`, imported below only
# when needed) would add about 2 ms to every start: this module is imported before the first event.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

# (the module whose import says the tool is in use, the integration's module in this package)
_TOOLS = (
    ("aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch", "powertools_metrics"),
    ("aws_xray_sdk.core", "xray"),
    ("opentelemetry.trace", "otel"),
    ("sentry_sdk", "sentry"),
)


class Integration:
    """What an integration may do; each does only the parts its tool needs."""

    def capture(self) -> object:
        """Taken when a callback is deferred, in the deferring code's context."""
        return None

    def observe(self, callback: object, attempt: int, captured: object) -> AbstractContextManager:
        """Around one attempt of a deferred callback."""
        from contextlib import nullcontext

        return nullcontext()

    def flush(self, budget_s: float, final: bool) -> None:
        """Send what the tool holds, within `budget_s`; `final`: the process ends next."""


def discover(in_use: list[Integration]) -> list[Integration]:
    """Integrations for the tools imported since the last look (not already in `in_use`); none
    with LAMBDA_RUNTIME_TELEMETRY=0 (the flush point's own hooks still run)."""
    env = os.environ
    if env.get("LAMBDA_RUNTIME_TELEMETRY", "1") == "0":
        return []
    have = {type(integration).__module__ for integration in in_use}
    found = []
    for module, name in _TOOLS:
        integration_module = f"{__package__}.{name}"
        if module in sys.modules and integration_module not in have and name not in _failed:
            try:
                # `__import__`, not `importlib`: that package (with `warnings`) is about 0.7 ms
                # of a cold start when the function does not import it itself.
                imported = __import__(integration_module, fromlist=("integration",))
                found.append(imported.integration())
            except Exception:  # a version of the tool this integration does not know
                _failed.add(name)
                from lambda_ack import logs

                logs.runtime_log.exception(
                    "telemetry: the %s integration could not start; that tool's deferred work "
                    "is not observed",
                    name,
                )
    return found


_failed: set[str] = set()  # integrations that could not start: not tried again


def span_name(callback: object) -> str:
    """The name a deferred callback's span carries."""
    return f"deferred {callback.name}"
