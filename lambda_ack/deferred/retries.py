"""`defer(..., retries=N)`: a failing callback run again, with backoff, while the deadline allows.

Each failed attempt is logged with its number and traceback (the last at ERROR), and counted in
the invocation's `retried=`; a retry that would leave less than the safety margin after its wait
is not made: the attempt that failed last is the callback's failure.
"""

from __future__ import annotations

import time

from lambda_ack import logs, telemetry
from lambda_ack.deferred import aio
from lambda_ack.errors import PROCESS_EXITS

log = logs.runtime_log

# Retry backoff: up to 0.1 s before the second attempt, doubling, at most 5 s; full jitter.
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.1, 5.0


def run(callback, deadline_ms: int, margin_ms: int, counts) -> bool:
    """Run `callback`, retrying as it asks; True when its last attempt failed. Each attempt
    started is counted in `callback.attempts` (a hand-off says how many were made)."""
    attempts = callback.retries + 1
    attempt = 1
    while True:
        callback.attempts = attempt
        try:
            if telemetry.in_use:  # each attempt a span of the tools the function uses
                telemetry.observed(callback, attempt, lambda: _attempt(callback))
            else:
                _attempt(callback)
            return False
        except PROCESS_EXITS:
            raise
        except BaseException:  # asyncio.CancelledError too: that callback's failure only
            of = f" (attempt {attempt} of {attempts})" if attempts > 1 else ""
            delay_s = _backoff_s(attempt) if attempt < attempts else None
            left_ms = deadline_ms - time.time() * 1000
            if delay_s is None or left_ms - delay_s * 1000 < margin_ms:
                counts.failed += 1
                why = "" if delay_s is None else ", no time left to retry before the deadline"
                log.exception("deferred callback %s failed%s%s", callback.name, of, why)
                return True
            counts.retried += 1
            log.warning(
                "deferred callback %s failed%s; retrying in %.2f s",
                callback.name,
                of,
                delay_s,
                exc_info=True,
            )
            time.sleep(delay_s)
            attempt += 1


def _attempt(callback) -> None:
    result = callback.fn(*callback.args, **callback.kwargs)
    if hasattr(type(result), "__await__"):
        aio.run(result)


def _backoff_s(attempt: int) -> float:
    import random

    return random.uniform(0, min(_BACKOFF_MAX_S, _BACKOFF_FIRST_S * 2 ** (attempt - 1)))
