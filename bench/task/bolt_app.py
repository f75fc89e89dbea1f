"""A Bolt app for bench/snapstart.py: `/hello` acknowledged at once, nothing after. Served by
this runtime's adapter (bolt_on_lambda_ack.py) and by Bolt's own Lambda adapter on awslambdaric
(bolt_on_bolts_adapter.py): the same app, each runtime's way. Importing Bolt and making the app
is the cold start a snapshot saves."""

import os

from slack_bolt import App
from slack_sdk import WebClient

app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    # Bolt asks auth.test at the first request: a loopback stand-in for Slack's API answers.
    client=WebClient("xoxb-0-bench", base_url=os.environ["SLACK_API_URL"]),
    process_before_response=True,
    token_verification_enabled=False,
)


@app.command("/hello")
def hello(ack):
    ack("hi")
