"""A GitHub-style webhook receiver in FastAPI on lambda-ack: it checks the delivery's HMAC
signature, answers 202 at once, and processes the event in a background task, which runs after
the answer, in the same invocation.

GitHub waits 10 seconds for an answer and marks a delivery failed after that. Here the answer
leaves as soon as FastAPI has sent it, whatever the background task takes.
"""

import hashlib
import hmac
import json
import os
import urllib.request

from fastapi import BackgroundTasks, FastAPI, Header, HTTPException, Request

from runtime.web import asgi

app = FastAPI()


@app.post("/webhook", status_code=202)
async def receive(
    request: Request,
    background: BackgroundTasks,
    x_hub_signature_256: str = Header(""),
    x_github_event: str = Header(""),
    x_github_delivery: str = Header(""),
):
    body = await request.body()
    secret = os.environ["WEBHOOK_SECRET"].encode()
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, x_hub_signature_256):
        raise HTTPException(status_code=401, detail="the signature does not match")
    background.add_task(process, x_github_event, json.loads(body), x_github_delivery)
    return {"accepted": x_github_delivery}


def process(kind: str, payload: dict, delivery: str) -> None:
    """The slow part: here, a summary posted to NOTIFY_URL (a chat webhook), or printed."""
    summary = f"{kind} on {payload.get('repository', {}).get('full_name', '?')} ({delivery})"
    notify_url = os.environ.get("NOTIFY_URL")
    if not notify_url:
        print(f"processed {summary}", flush=True)
        return
    request = urllib.request.Request(
        notify_url,
        json.dumps({"text": summary}).encode(),
        {"content-type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


handler = asgi(app)
