"""bolt_app served by Bolt's own Lambda adapter (for awslambdaric), made at import."""

from bolt_app import app
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

handler = SlackRequestHandler(app=app).handle
