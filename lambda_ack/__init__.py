"""A Lambda runtime for Python that answers first and keeps working after.

Handlers return the acknowledgement; `defer` queues the work that runs once it has been posted.
"""

from lambda_ack.deferred import defer
from lambda_ack.shutdown import on_shutdown

__all__ = ["defer", "on_shutdown"]
