"""A stand-in for `handler_example/app.py` with the same contract, for the demo's tests while the
real example is not there: verify the signature, acknowledge, post the result from `defer`."""

import base64
import json
import os
import urllib.parse
import urllib.request

from runtime import defer


def handler(event, context):
    from slack_sdk.signature import SignatureVerifier

    raw = event["body"]
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    verifier = SignatureVerifier(os.environ["SLACK_SIGNING_SECRET"])
    if not verifier.is_valid_request(body, event["headers"]):
        return {"statusCode": 401, "body": "invalid signature"}
    form = dict(urllib.parse.parse_qsl(body.decode()))
    defer(post, form["response_url"], f"Completed! (task: {form['text']})")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"text": f"Accepted! (task: {form['text']})"}),
    }


def post(url: str, text: str) -> None:
    data = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()
