"""Slack on this runtime: verified requests, quick acknowledgements, follow-ups from `defer`.

```python
from runtime import defer
from runtime.slack import SlackApp, respond

app = SlackApp()  # needs SLACK_SIGNING_SECRET, or the function fails its init
handler = app.handler
```

Importing this package does not import `slack_sdk`; `respond` and `web_client` do, when called.
"""

from runtime.slack.app import ConfigurationError, SlackApp
from runtime.slack.clients import DeliveryFailed, respond, web_client
from runtime.slack.dedupe import SeenRequests

__all__ = [
    "ConfigurationError",
    "DeliveryFailed",
    "SeenRequests",
    "SlackApp",
    "respond",
    "web_client",
]
