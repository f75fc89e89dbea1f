"""The long work both examples defer; swap in your own.

It asks a status service (STATUS_URL) about the task, over HTTP with `requests`: the kind of
call that makes a handler miss Slack's 3 seconds when it runs before the acknowledgement.
"""

import os


def run_task(task: str) -> str:
    url = os.environ.get("STATUS_URL")
    if not url:
        return "No STATUS_URL configured: nothing to look up."
    import requests  # imported here, so the acknowledgement never waits for it

    answer = requests.get(url, params={"task": task}, timeout=20)
    answer.raise_for_status()
    return f"The status service says: {answer.text[:200]}"
