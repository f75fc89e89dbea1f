"""`runtime.bolt` is `lambda_ack.slack.bolt` (see `runtime/__init__.py` for why two names)."""

from lambda_ack.slack.bolt import *  # noqa: F403
from lambda_ack.slack.bolt import __all__  # noqa: F401
