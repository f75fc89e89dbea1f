"""{{name}}: a Bolt app whose slash command is answered at once, its work done after the answer.

`ack()` answers Slack at once; the lazy function runs once Slack has the answer, in the same
invocation (lambda-ack runs Bolt's lazy listeners as deferred work: no second invocation). Set
SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN from your Slack app.
"""

import os

from slack_bolt import App

from runtime.bolt import SlackRequestHandler
from runtime.slack import web_client

app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    # SLACK_BOT_TOKEN; the Web API at $SLACK_API_URL when set (the tests' stand-in)
    client=web_client(),
    process_before_response=True,  # Lambda freezes threads left running after the answer
    token_verification_enabled=False,  # no auth.test call at every cold start
)


def acknowledge(ack, command):
    ack(f"Working on it: {command['text']}")


def greet(respond, command):
    """The slow part: after Slack has its answer."""
    respond(f"Done: {command['text']}")


app.command("/hello")(ack=acknowledge, lazy=[greet])


def handler(event, context):
    return SlackRequestHandler(app).handle(event, context)
