"""Slack on this runtime: verified requests, quick acknowledgements, follow-ups from `defer`.

```python
from lambda_ack import defer
from lambda_ack.slack import SlackApp, respond

app = SlackApp()  # needs SLACK_SIGNING_SECRET, or the function fails its init
handler = app.handler
```

Importing this package does not import `slack_sdk`; `respond` and `web_client` do, when called.
"""

from lambda_ack.slack.app import ConfigurationError, SlackApp
from lambda_ack.slack.clients import DeliveryFailed, respond, web_client
from lambda_ack.slack.dedupe import SeenRequests

__all__ = [
    "ConfigurationError",
    "DeliveryFailed",
    "SeenRequests",
    "SlackApp",
    "respond",
    "web_client",
]
