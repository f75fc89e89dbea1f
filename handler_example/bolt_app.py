"""The Slack example written with Bolt for Python, lazy listeners as Bolt's documentation has them.

`/start-process <description>` is acknowledged by `acknowledge` within Slack's 3 seconds; the
`lazy` functions then run after the acknowledgement, in the same invocation, as deferred
callbacks (`runtime.bolt`): `run_long_process` does the work and answers on the command's
response_url, `announce` posts to the channel through the Web API. One failing does not stop
the other.

Handler: `handler_example/bolt_app.handler`. Environment: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN,
SLACK_API_URL (optional Web API base), STATUS_URL (optional, what the work asks). Needs
`slack_bolt` in the function's own requirements (the runtime does not ship it).
"""

import os

from slack_bolt import App
from slack_sdk import WebClient

from handler_example.work import run_task
from runtime.bolt import SlackRequestHandler  # was: from slack_bolt.adapter.aws_lambda import ...

app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(
        os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    ),
    process_before_response=True,  # as on any FaaS: listeners run inside the invocation
    token_verification_enabled=False,  # no auth.test call during init
)


def acknowledge(body: dict, ack) -> None:
    task = body.get("text", "").strip()
    if not task:
        ack("Usage: /start-process <description of the task>")
    else:
        ack(f"Accepted! (task: {task})")


def run_long_process(respond, body: dict) -> None:
    task = body.get("text", "").strip()
    if not task:
        return
    try:
        outcome = run_task(task)
    except Exception as e:
        respond(f"Failed! (task: {task}): {type(e).__name__}")
        raise  # logged with its traceback by the runtime; `announce` still runs
    respond(f"Completed! (task: {task})\n{outcome}")


def announce(say, body: dict, logger) -> None:
    task = body.get("text", "").strip()
    if task:
        say(f"<@{body['user_id']}> started a task: {task}")
        logger.info("announced task %r in %s", task, body["channel_id"])


app.command("/start-process")(ack=acknowledge, lazy=[run_long_process, announce])


def handler(event: dict, context: object) -> dict:
    return SlackRequestHandler(app).handle(event, context)
