"""A function whose module import takes 2 s (the scenario, not a synchronisation): on its cold
start the ack guard must count Slack's 3 seconds from the process's start."""

import time

time.sleep(2)

from slack_acks import handler  # noqa: E402,F401
