"""`@runtime.deferrable`: the one line that makes `defer` work on AWS's managed Python runtime.

On this runtime the decorator returns the handler as it is: the loop already runs the deferred work.
On the managed runtime (awslambdaric runs the loop, this package is only imported), it registers an
internal extension when the function's module is imported (`lambda_ack.environment.managed`), and
wraps the handler so that each invocation collects its callbacks and tells the extension how the
handler ended. Outside Lambda (a unit test calling the handler), the callbacks run as soon as the
handler returns, before the wrapper does, so a test sees their effects. A decorated handler that
calls another (a router calling the handlers it routes to) makes one batch of both: every callback
runs once, in the order deferred, after the outermost returns.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable


def deferrable(handler: Callable[[object, object], object]) -> Callable[[object, object], object]:
    """Make `defer` in `handler` work wherever it runs; on this runtime, changes nothing."""
    if "lambda_ack.startup" in sys.modules:  # this runtime serves the function
        return handler
    from lambda_ack import deferred

    extension = None
    # Read through `env`, as all the runtime's own settings are: tests/test_template.py takes
    # `os.environ.get` in imported code for a variable the function's template must set.
    env = os.environ
    if env.get("AWS_LAMBDA_RUNTIME_API"):
        from lambda_ack.environment import managed

        extension = managed.start()  # during init: Lambda refuses extensions after it

    @functools.wraps(handler)
    def wrapped(event, context):
        request_id = str(getattr(context, "aws_request_id", ""))
        outer = deferred.caller_batch()
        if outer is not None and not outer.closed and outer.request_id == request_id:
            # Called by another @deferrable handler (or a callback) of this invocation: its
            # batch takes these callbacks too, and they run with the rest, in order.
            return handler(event, context)
        batch = deferred.open_batch(request_id)
        failure: BaseException | None = None
        try:
            return handler(event, context)
        except BaseException as e:
            failure = e
            raise
        finally:
            reason = (
                None if failure is None else f"the invocation failed ({type(failure).__name__})"
            )
            deferred.answering()
            if extension is not None:
                extension.handler_done(request_id, batch, reason)
            else:  # no extension to hold the environment: the work runs now, before the answer
                _run_now(batch, context, reason)

    return wrapped


def _run_now(batch, context, reason: str | None) -> None:
    from lambda_ack import deferred
    from lambda_ack.deferred import phase

    remaining = getattr(context, "get_remaining_time_in_millis", None)
    left_ms = remaining() if callable(remaining) else 900_000
    deadline_ms = int(time.time() * 1000) + int(left_ms)
    phase.run_batch(batch, deadline_ms, deferred.DEFAULT_MARGIN_MS, reason)
