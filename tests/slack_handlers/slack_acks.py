"""SlackApp listeners that acknowledge with `runtime.ack` and keep working, or that work first
and leave the 3 seconds to the ack guard. Their work waits on the test's status service."""

import os
import sys
import time
import urllib.request

import runtime
from runtime.slack import SlackApp, respond

app = SlackApp()
handler = app.handler
# The same listeners, the guard answering sooner, with a text of its own.
worded = SlackApp(ack_guard_ms=500, ack_fallback="Working on it...")
worded_handler = worded.handler
# And with a guard that answers after 500 ms.
prompt = SlackApp(ack_guard_ms=500)
prompt_handler = prompt.handler


def work(name):
    urllib.request.urlopen(f"{os.environ['STATUS_URL']}/{name}", timeout=30).read()


@app.command("/ops-restart")
def restart(command):
    runtime.ack(f"Received restart request for {command['text']}")
    work(command["text"])
    respond(command["response_url"], text=f"Restarted {command['text']}")


@prompt.command("/slow-ack")
@worded.command("/slow-ack")
@app.command("/slow-ack")
def slow(command):
    work(command["text"])
    return {"text": f"Done with {command['text']}"}


@worded.event("app_mention")
@app.event("app_mention")
def slow_event(event):
    work(event["text"].split()[-1])
    return {"text": "an answer an event cannot take"}


# A guard of 1 s, and a listener that answers in 0.3 s (the scenario's pace, not a wait).
second = SlackApp(ack_guard_ms=1000)
second_handler = second.handler


@second.command("/quick")
def quick(command):
    time.sleep(0.3)
    return {"text": f"Quick answer for {command['text']}"}


# Two environments of the duplicate guard's tests: no guard, so an unanswered listener holds its
# caller; where FAIL_MENTIONS is set, the listener fails. It says which AWS client code its
# request has loaded (the guard's own, never boto3).
unguarded = SlackApp(ack_guard_ms=None)
unguarded_handler = unguarded.handler


@unguarded.event("app_mention")
def mentioned(event):
    loaded = [m for m in ("boto3", "botocore", "lambda_ack.dedupe.table") if m in sys.modules]
    print(f"AWS client code loaded: {loaded}")
    if os.environ.get("FAIL_MENTIONS"):
        raise ConnectionError("this environment's listener fails")
    work(event["text"].split()[-1])
