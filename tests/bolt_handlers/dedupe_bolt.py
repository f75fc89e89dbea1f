"""A Bolt app for the duplicate guard's tests: its mention listener waits on the test's status
service (no ack guard, so its caller waits too), and fails where FAIL_MENTIONS is set. It says
which AWS client code its request has loaded (the guard's own, never boto3)."""

import os
import sys
import urllib.request

from slack_bolt import App
from slack_sdk import WebClient

from runtime.bolt import SlackRequestHandler

app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    process_before_response=True,
    token_verification_enabled=False,
)


@app.event("app_mention")
def mentioned(event):
    loaded = [m for m in ("boto3", "botocore", "lambda_ack.dedupe.table") if m in sys.modules]
    print(f"AWS client code loaded: {loaded}")
    if os.environ.get("FAIL_MENTIONS"):
        raise ConnectionError("this environment's listener fails")
    name = event["text"].split()[-1]
    urllib.request.urlopen(f"{os.environ['STATUS_URL']}/{name}", timeout=30).read()


def handler(event, context):
    return SlackRequestHandler(app, ack_guard_ms=None).handle(event, context)
