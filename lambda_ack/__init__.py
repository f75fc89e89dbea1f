"""A Lambda runtime for Python that answers first and keeps working after.

A handler returns its acknowledgement, or posts it early with `ack`; `defer` queues the work
that runs once it has been posted.
"""

from lambda_ack.acknowledgement import AcknowledgementFailed, ack
from lambda_ack.deferred import defer
from lambda_ack.shutdown import on_shutdown

__all__ = ["AcknowledgementFailed", "ack", "defer", "on_shutdown"]
