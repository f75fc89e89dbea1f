"""Follow-up messages from deferred work, through `slack_sdk`, imported only when a call is made.

Importing `slack_sdk` costs about 60 ms, which belongs in the deferred phase, not in the
acknowledgement Slack waits 3 seconds for; so each function imports it when called.
"""

from __future__ import annotations

import os

from lambda_ack.slack.app import ConfigurationError

TYPE_CHECKING = False  # importing `typing` would cost every cold start milliseconds
if TYPE_CHECKING:
    from slack_sdk import WebClient

TIMEOUT_S = 10


class DeliveryFailed(RuntimeError):
    """Slack did not accept a message posted to a `response_url`."""


def respond(response_url: str, **message: object) -> None:
    """Post `message` (`text`, `blocks`, `replace_original`...) to a command's or action's
    `response_url`. `WebhookClient` reports HTTP errors instead of raising: this raises them, so
    a lost follow-up is a logged callback failure rather than silence."""
    from slack_sdk.webhook import WebhookClient

    answer = WebhookClient(response_url, timeout=TIMEOUT_S).send_dict(message)
    if answer.status_code != 200:
        raise DeliveryFailed(f"response_url answered HTTP {answer.status_code}: {answer.body!r}")


def web_client(token: str | None = None) -> WebClient:
    """A Web API client with `$SLACK_BOT_TOKEN`, aimed at `$SLACK_API_URL` when set (a local
    stand-in for tests and demos). Its methods raise `SlackApiError` when Slack says `ok: false`."""
    from slack_sdk import WebClient

    token = token or os.environ.get("SLACK_BOT_TOKEN")
    if not token:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set: Web API calls need the bot token")
    base_url = os.environ.get("SLACK_API_URL") or WebClient.BASE_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_S)
