"""The logging recipe of Bolt's own Lambda examples, on runtime.bolt: clear the handlers, then
basicConfig at DEBUG, so Bolt's, slack_sdk's and the app's DEBUG lines appear."""

import logging
import os

from slack_bolt import App
from slack_sdk import WebClient

from runtime.bolt import SlackRequestHandler

SlackRequestHandler.clear_all_log_handlers()
logging.basicConfig(format="%(asctime)s %(message)s", level=logging.DEBUG)

app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    process_before_response=True,
    token_verification_enabled=False,
)


def acknowledge(ack) -> None:
    ack("Accepted!")


def post(say, body, logger) -> None:
    logger.debug("the bot token is %s", os.environ["SLACK_BOT_TOKEN"])  # must be masked
    say(f"done: {body['text']}")


app.command("/start-process")(ack=acknowledge, lazy=[post])


def handler(event, context):
    return SlackRequestHandler(app).handle(event, context)
