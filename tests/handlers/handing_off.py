"""A function that defers durable work and consumes its own hand-off queue (SQS records)."""

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
