"""A Lambda runtime for Python that answers first and keeps working after.

A handler returns its acknowledgement, or posts it early with `ack`; `defer` queues the work
that runs once it has been posted; a `Stream` answer is sent chunk by chunk, and the deferred
work runs after its last byte.
"""

from lambda_ack.acknowledgement import AcknowledgementFailed, ack
from lambda_ack.deferred import defer
from lambda_ack.shutdown import on_shutdown
from lambda_ack.stream import Stream

__all__ = ["AcknowledgementFailed", "Stream", "ack", "defer", "handed_off", "on_shutdown"]


def handed_off():
    """In a durable callback run from the hand-off queue: its `attempt` (counting every attempt
    since it was registered), `idempotency_key` (the same for every delivery of that work),
    `request_id` and `registered_at`; None in any other code (`lambda_ack.handoff`)."""
    from lambda_ack import handoff

    return handoff.handed_off()
