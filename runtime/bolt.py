"""`runtime.bolt` is `lambda_ack.bolt` (see `runtime/__init__.py` for why two names)."""

from lambda_ack.bolt import *  # noqa: F403
from lambda_ack.bolt import __all__  # noqa: F401
