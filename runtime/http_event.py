"""`runtime.http_event` is `lambda_ack.web.http_event` (see `runtime/__init__.py` for why two
names)."""

from lambda_ack.web.http_event import *  # noqa: F403
from lambda_ack.web.http_event import __all__  # noqa: F401
