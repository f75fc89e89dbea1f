"""A Bolt app whose cold start outlasts its ack guard's 200 ms (a long import is the scenario,
not a synchronisation): a forged request as its first event must still get Bolt's 401."""

import time

time.sleep(0.5)

from ops_restart import app  # noqa: E402

from runtime.bolt import SlackRequestHandler  # noqa: E402


def handler(event, context):
    return SlackRequestHandler(app, ack_guard_ms=200).handle(event, context)
