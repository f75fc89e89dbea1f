"""{{name}}: a Slack slash command answered at once, its work done after the answer.

Slack wants an answer within 3 seconds. The listener returns that answer right away and defers
the work: it runs once Slack has the answer, in the same invocation (no second function, no
queue). Set SLACK_SIGNING_SECRET, the Signing Secret of your Slack app.
"""

from runtime import defer
from runtime.slack import SlackApp, respond

app = SlackApp()
handler = app.handler


@app.command("/hello")
def hello(command):
    defer(greet, command["text"], command["response_url"])
    return {"text": f"Working on it: {command['text']}"}


def greet(text, response_url):
    """The slow part: after Slack has its answer. What it posts replaces nothing: a new message."""
    respond(response_url, text=f"Done: {text}")
