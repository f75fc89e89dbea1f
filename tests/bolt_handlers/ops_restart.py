"""The `/ops-restart` listener of a widely read article on Slack bots on Lambda, typed in as it
is, on Bolt with `process_before_response=True`. Only the adapter's import is this runtime's;
the article's 5-10 s of work waits on the test's status service until the test releases it."""

import os
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


def perform_heavy_restart_logic(server_name):
    urllib.request.urlopen(f"{os.environ['STATUS_URL']}/{server_name}", timeout=30).read()


# fmt: off
@app.command("/ops-restart")
def handle_restart_command(ack, body, say, logger):
    ack("Received restart request... Initialization started. :hourglass_flowing_sand:")
    server_name = body["text"].strip()
    perform_heavy_restart_logic(server_name)   # 5-10 s
    say(text=f":white_check_mark: Service *{server_name}* restarted successfully!", channel=body["channel_id"])
# fmt: on


@app.command("/slow-ack")
def acknowledge_late(ack, body):
    """Works first, acknowledges after: the ack guard's case."""
    perform_heavy_restart_logic(body["text"].strip())
    ack(f"Done with {body['text'].strip()}")


def handler(event, context):
    slack_handler = SlackRequestHandler(app=app)
    return slack_handler.handle(event, context)
