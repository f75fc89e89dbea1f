"""The Slack example (handler_example/app.py) for awslambdaric: the same app, its `defer` run by
`@runtime.deferrable`'s extension, as on AWS's managed runtime (bench/snapstart.py)."""

import runtime
from handler_example.app import handler as example_handler

handler = runtime.deferrable(example_handler)
