"""A Lambda runtime for Python that answers first and keeps working after.

Handlers return the acknowledgement; `defer` queues the work that runs once it has been posted.
"""

from runtime.deferred import defer
from runtime.shutdown import on_shutdown

__all__ = ["defer", "on_shutdown"]
