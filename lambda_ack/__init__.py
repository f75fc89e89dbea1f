"""A Lambda runtime for Python that answers first and keeps working after.

A handler returns its acknowledgement, or posts it early with `ack`; `defer` queues the work
that runs once it has been posted; a `Stream` answer is sent chunk by chunk, and the deferred
work runs after its last byte.
"""

from __future__ import annotations

from collections.abc import Callable

__version__ = "0.1.0"

from lambda_ack.answer.acknowledgement import AcknowledgementFailed, ack
from lambda_ack.answer.stream import Stream
from lambda_ack.deferred import defer
from lambda_ack.environment.shutdown import on_shutdown
from lambda_ack.telemetry import on_invocation_end

__all__ = [
    "AcknowledgementFailed",
    "Stream",
    "ack",
    "defer",
    "deferrable",
    "handed_off",
    "on_invocation_end",
    "on_shutdown",
]


def handed_off() -> object:
    """In a durable callback run from the hand-off queue: its `attempt` (counting every attempt
    since it was registered), `idempotency_key` (the same for every delivery of that work),
    `request_id` and `registered_at`; None in any other code (`lambda_ack.deferred.consumer`)."""
    from lambda_ack.deferred import consumer

    return consumer.handed_off()


def deferrable(handler: Callable[..., object]) -> Callable[..., object]:
    """Decorate the handler so that `defer` works on AWS's managed Python runtime too (an
    internal extension runs the work, `lambda_ack.environment.managed`); on this runtime it changes
    nothing.
    Imported on first use, so a function that never uses it pays nothing at start-up."""
    from lambda_ack.environment.deferrable import deferrable as wrap

    return wrap(handler)
