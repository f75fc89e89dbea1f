"""`runtime.web` is `lambda_ack.web` (see `runtime/__init__.py` for why two names)."""

from lambda_ack.web import *  # noqa: F403
from lambda_ack.web import __all__  # noqa: F401
