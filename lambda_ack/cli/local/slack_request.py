"""A Slack slash command as Lambda delivers it from a Function URL, signed as Slack signs it.

What `lambda-ack invoke --slack-command`, the demo and projects' tests send: the form body
Slack posts, base64-encoded in a payload 2.0 event, with `X-Slack-Request-Timestamp` and
`X-Slack-Signature` made now (a signature goes stale after 5 minutes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
import uuid

SIGNING_SECRET = "demo-signing-secret-not-a-real-one"
COMMAND = "/start-process"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: what the function must verify before trusting the command."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slash_command_event(
    text: str, response_url: str, secret: str = SIGNING_SECRET, command: str = COMMAND
) -> dict:
    """The event Lambda builds for a Function URL (payload 2.0) when Slack posts a command."""
    body = urllib.parse.urlencode(
        {
            "token": "demo-verification-token",
            "team_id": "T0DEMO",
            "team_domain": "demo",
            "channel_id": "C0DEMO",
            "channel_name": "general",
            "user_id": "U0DEMO",
            "user_name": "demo",
            "command": command,
            "text": text,
            "api_app_id": "A0DEMO",
            "response_url": response_url,
            "trigger_id": "1000000001.1.demo",
        }
    ).encode()
    now = time.time()
    timestamp = str(int(now))
    domain = "demo.lambda-url.us-east-1.on.aws"
    user_agent = "Slackbot 1.0 (+https://api.slack.com/robots)"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/slack/commands",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": str(len(body)),
            "host": domain,
            "user-agent": user_agent,
            "x-forwarded-proto": "https",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": sign(secret, timestamp, body),
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "demo",
            "domainName": domain,
            "domainPrefix": "demo",
            "http": {
                "method": "POST",
                "path": "/slack/commands",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
