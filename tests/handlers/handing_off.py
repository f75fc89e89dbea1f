"""A function that defers durable work and consumes its own hand-off queue (SQS records)."""

import asyncio
import datetime
import os
import sys
import threading
import urllib.request

import runtime
from runtime import defer


def handler(event, context):
    if "Records" in event:  # the user's own SQS records: the runtime's are taken out first
        print(f"user records: {[record['messageId'] for record in event['Records']]}")
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record in event["Records"]
                if record["body"] == "fail me"
            ]
        }
    if "work" in event:  # one of the named cases below
        return CASES[event["work"]](event)
    if "held_url" in event:
        defer(wait_for, event["held_url"], durable=True)
        for report_id in event.get("then", ()):
            defer(report, report_id, durable=True)
        return "accepted"
    defer(report, event["id"], retries=event.get("retries", 0), durable=True)
    return "accepted"


def wait_for(url):
    urllib.request.urlopen(url, timeout=60).read()
    print(f"waited for {url}")


def report(report_id):
    handed = runtime.handed_off()
    attempt, key = (handed.attempt, handed.idempotency_key) if handed else (None, None)
    print(f"report {report_id}: attempt {attempt}, key {key}")
    if report_id.startswith("fail"):
        raise ConnectionError(f"report {report_id} failed")


def changes_its_argument(info, url=None):
    """Adds what JSON cannot write to the dict it was given, then fails (or waits)."""
    info["when"] = datetime.datetime.now()
    if url is not None:
        wait_for(url)
    raise ConnectionError("failed after changing its argument")


_attempts: dict[str, int] = {}


def fails_once_then_waits(work_id, url):
    handed = runtime.handed_off()
    print(f"{work_id}: handed-off attempt {handed.attempt if handed else None}")
    _attempts[work_id] = _attempts.get(work_id, 0) + 1
    if _attempts[work_id] == 1:
        raise ConnectionError("the first attempt fails")
    wait_for(url)


def echo_text(text):
    """Fails where it was deferred; from the queue, says what it was given."""
    if runtime.handed_off() is None:
        raise ConnectionError("not yet")
    print(f"echo_text got {ascii(text)}")


async def cancelled_from_the_queue(work_id):
    if runtime.handed_off() is None:
        raise ConnectionError("not yet")
    raise asyncio.CancelledError(f"{work_id} cancelled")


def exits_from_the_queue(code):
    if runtime.handed_off() is None:
        raise ConnectionError("not yet")
    sys.exit(code)


def runs_once(work_id):
    """Fails where it was deferred; from the queue, does its work once however often delivered.
    On its first delivery, the flaky one fails after claiming (which gives the claim back) and
    the stuck one runs until the invocation's deadline kills it."""
    handed = runtime.handed_off()
    if handed is None:
        raise ConnectionError("not yet")
    if not handed.once():
        print(f"{work_id}: already done by another delivery")
        return
    if work_id.startswith("flaky") and handed.attempt == 2:
        raise ConnectionError("this delivery fails after claiming")
    if work_id.startswith("stuck") and handed.attempt == 2:
        print(f"{work_id}: claimed, and stuck", flush=True)
        threading.Event().wait()
    print(f"{work_id}: done (attempt {handed.attempt})")


def with_a_secret(token):
    raise ConnectionError("the work that needed the token failed")


CASES = {
    "changes-its-argument": lambda event: _defer_then(
        (changes_its_argument, {"id": event["id"]}, *event.get("args", ())),
        (report, f"after-{event['id']}"),
    ),
    "fails-once-then-waits": lambda event: _defer_then(
        (fails_once_then_waits, event["id"], event["held_url"]), retries=2
    ),
    "echo-text": lambda event: _defer_then((echo_text, event["text"])),
    "cancelled": lambda event: _defer_then((cancelled_from_the_queue, event["id"])),
    "exits": lambda event: _defer_then((exits_from_the_queue, event["code"])),
    "with-a-secret": lambda event: _defer_then((with_a_secret, os.environ["SLACK_BOT_TOKEN"])),
    "runs-once": lambda event: _defer_then((runs_once, event["id"])),
    "not-json-as-it-is": lambda event: _defer_then(
        (report, {"dict": {101: 9.99}, "tuple": (1, 2), "nested": {"a": [(1,)]}}[event["kind"]])
    ),
}


def _defer_then(*calls, retries=0):
    for fn, *args in calls:
        defer(fn, *args, retries=retries, durable=True)
    return "accepted"


@runtime.on_shutdown
def goodbye():
    print("the function's shutdown hook ran")
