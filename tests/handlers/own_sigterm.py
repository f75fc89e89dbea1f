"""A function module that installs its own SIGTERM handler at import, as AWS's sample does."""

import signal

from faults import _graceful_exit, blocking_callback  # noqa: F401  (the handler, re-exported)

signal.signal(signal.SIGTERM, _graceful_exit)
