"""Bolt's own Lambda adapter, for the tripwire's control test: importing it imports boto3."""

from slack_bolt.adapter.aws_lambda import SlackRequestHandler  # noqa: F401


def handler(event: dict, context: object) -> dict:
    raise AssertionError("not reached: importing Bolt's adapter needs boto3")
