"""bolt_app served by this runtime's Bolt adapter, made at import (what a snapshot keeps)."""

from bolt_app import app

from runtime.bolt import SlackRequestHandler

handler = SlackRequestHandler(app).handle
