"""The X-Ray SDK (and the Powertools Tracer over it): a subsegment per deferred callback.

The handler's subsegments end with the handler; the deferred work used to leave no trace. Each
attempt of a callback becomes a subsegment `deferred <name>` under the invocation's segment (the
SDK finds it from the trace header, which the runtime keeps set through the deferred phase),
annotated with the callback's name and attempt, its exception recorded. In Lambda the SDK sends
each subsegment to the daemon as it ends, so there is nothing to flush; at SIGTERM the one still
open is ended, marked as interrupted, so the trace shows where the environment stopped.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from lambda_ack.telemetry.tools import Integration, span_name

TRACE_HEADER = "_X_AMZN_TRACE_ID"
# What X-Ray drops from a name, with a warning each time.
_INVALID = str.maketrans("", "", "?;*()!$~^<>")


class XRay(Integration):
    def __init__(self) -> None:
        from aws_xray_sdk import global_sdk_config
        from aws_xray_sdk.core import xray_recorder

        self._config = global_sdk_config
        self._recorder = xray_recorder
        self._open: object | None = None

    @contextmanager
    def observe(self, callback: object, attempt: int, captured: object) -> Iterator[None]:
        # Off (the Powertools Tracer turns it off outside Lambda), or an invocation X-Ray did not
        # sample: nothing would be sent, so nothing is made.
        if not self._config.sdk_enabled() or ";Sampled=0" in os.environ.get(TRACE_HEADER, ""):
            yield
            return
        recorder = self._recorder
        subsegment = recorder.begin_subsegment(span_name(callback).translate(_INVALID))
        if subsegment is None:  # no segment to hang it on: not in a traced invocation
            yield
            return
        self._open = subsegment
        subsegment.put_annotation("deferred_callback", callback.name.translate(_INVALID))
        subsegment.put_annotation("attempt", attempt)
        try:
            yield
        except BaseException as e:
            subsegment.add_exception(e, traceback.extract_tb(e.__traceback__))
            raise
        finally:
            self._open = None
            recorder.end_subsegment()

    def flush(self, budget_s: float, final: bool) -> None:
        subsegment = self._open
        if final and subsegment is not None:
            self._open = None
            subsegment.add_exception(
                RuntimeError("the environment shut down (SIGTERM) while this callback ran"), []
            )
            self._recorder.end_subsegment()


def integration() -> Integration:
    return XRay()
