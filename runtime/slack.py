"""`runtime.slack` is `lambda_ack.slack` (see `runtime/__init__.py` for why two names)."""

from lambda_ack.slack import *  # noqa: F403
from lambda_ack.slack import __all__  # noqa: F401
