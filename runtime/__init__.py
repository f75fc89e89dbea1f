"""The names a function imports: `from runtime import defer`.

The runtime itself is the `lambda_ack` package, and it never imports this one. So a function
whose own code has a module called `runtime` gets that module, as it would on AWS's managed
runtime, and reaches this API as `lambda_ack` instead (`from lambda_ack import defer`).
"""

from lambda_ack import *  # noqa: F403
from lambda_ack import __all__  # noqa: F401
