"""The Slack example: every request is answered at once, the slow part runs after, in `defer`.

- `/start-process <description>` answers "Accepted!", then does the work and posts "Completed!"
  to the command's response_url, with a button;
- the button ("Mark as reviewed") updates that message;
- mentioning the app (`app_mention`) gets a reply in the thread.

Replace `run_task` (handler_example/work.py) with your own work. Environment:
SLACK_SIGNING_SECRET (required), SLACK_BOT_TOKEN (for the mention reply), STATUS_URL (optional,
what `run_task` asks).
"""

from handler_example.work import run_task
from runtime import defer
from runtime.slack import SlackApp, respond, web_client

app = SlackApp()  # without SLACK_SIGNING_SECRET this raises: the function fails its init
handler = app.handler


@app.command("/start-process")
def start_process(command: dict) -> dict:
    task = command.get("text", "").strip()
    if not task:
        return {"text": "Usage: /start-process <description of the task>"}
    defer(finish_task, task, command["response_url"])
    return {"text": f"Accepted! (task: {task})"}


def finish_task(task: str, response_url: str) -> None:
    try:
        outcome = run_task(task)
    except Exception as e:
        respond(response_url, text=f"Failed! (task: {task}): {type(e).__name__}")
        raise  # logged with its traceback by the runtime
    text = f"Completed! (task: {task})"
    respond(
        response_url,
        text=text,  # what notifications show; the blocks are what the channel shows
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{outcome}"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "mark_reviewed",
                        "text": {"type": "plain_text", "text": "Mark as reviewed"},
                        "value": task,
                    }
                ],
            },
        ],
    )


@app.action("mark_reviewed")
def mark_reviewed(action: dict) -> None:
    task, user = action["actions"][0]["value"], action["user"]["id"]
    text = f"Completed! (task: {task}), reviewed by <@{user}>"
    defer(respond, action["response_url"], replace_original=True, text=text)


@app.event("app_mention")
def mentioned(event: dict) -> None:
    defer(reply_in_thread, event["channel"], event.get("thread_ts") or event["ts"], event["user"])


def reply_in_thread(channel: str, thread_ts: str, user: str) -> None:
    web_client().chat_postMessage(
        channel=channel, thread_ts=thread_ts, text=f"Hi <@{user}>! Try /start-process <task>."
    )
