"""The article's `/ops-restart` app served by Bolt's own Lambda adapter, for comparison: there
Slack gets the ack only once the whole listener has returned."""

from ops_restart import app
from slack_bolt.adapter.aws_lambda import SlackRequestHandler


def handler(event, context):
    return SlackRequestHandler(app=app).handle(event, context)
