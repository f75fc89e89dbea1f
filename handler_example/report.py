"""Streaming example: a CSV report sent line by line through a Function URL in RESPONSE_STREAM
mode, and a Slack notification once its last line has gone out.

The caller (a browser, `curl -N`) sees the first rows while later ones are still being made;
the notification is deferred work, so it runs after the last byte, in the same invocation.
Deploy it as its own function (`Handler=handler_example/report.handler`, `InvokeMode=
RESPONSE_STREAM`). Environment: REPORT_WEBHOOK_URL (optional), a Slack incoming webhook.
"""

import os
import time
from collections.abc import Iterator

from runtime import Stream, defer


def handler(event: dict, context) -> Stream:
    query = event.get("queryStringParameters") or {}
    try:
        days = min(max(int(query.get("days", "7")), 1), 366)
    except ValueError:
        text = "days must be a whole number\n"
        return Stream([text], status_code=400, headers={"Content-Type": "text/plain"})
    sent = {"rows": 0}
    defer(notify, sent, days)
    return Stream(
        rows(days, sent),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="report.csv"',
        },
    )


def rows(days: int, sent: dict) -> Iterator[str]:
    """Replace with your own slow source (a paginated API, a database cursor): each line is sent
    as soon as it is yielded."""
    yield "day,orders,revenue\n"
    today = time.time() // 86400
    for back in range(days):
        day = time.strftime("%Y-%m-%d", time.gmtime((today - back) * 86400))
        orders = 40 + (back * 7) % 23
        yield f"{day},{orders},{orders * 19.9:.2f}\n"
        sent["rows"] += 1


def notify(sent: dict, days: int) -> None:
    text = f"Report sent: {sent['rows']} days of orders (of {days} asked)."
    url = os.environ.get("REPORT_WEBHOOK_URL")
    if not url:
        print(text)  # no webhook configured: the log says it instead
        return
    from slack_sdk.webhook import WebhookClient

    response = WebhookClient(url, timeout=5).send(text=text)
    if response.status_code != 200:
        raise RuntimeError(f"the webhook answered {response.status_code}: {response.body}")
