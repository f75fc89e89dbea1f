"""The receiver on this machine as Lambda runs it (lambda-ack's local Lambda): a signed delivery
is answered 202 before its processing, which then posts to a stand-in chat webhook."""

import hashlib
import hmac
import json

from lambda_ack.testing import SlackStandIn, http_request, local_function

SECRET = "test-webhook-secret"
DELIVERY = {"action": "opened", "repository": {"full_name": "octo/widgets"}}


def delivery(secret: str = SECRET) -> dict:
    body = json.dumps(DELIVERY).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": signature,
        "x-github-event": "pull_request",
        "x-github-delivery": "d-1",
    }
    return http_request("POST", "/webhook", body, headers)


def test_a_signed_delivery_is_accepted_then_processed():
    with SlackStandIn() as chat:
        env = {"WEBHOOK_SECRET": SECRET, "NOTIFY_URL": chat.url + "/notify"}
        with local_function(env=env) as function:
            answer = function.invoke(delivery()).json()
            assert answer["statusCode"] == 202
            assert json.loads(answer["body"]) == {"accepted": "d-1"}
            posted = json.loads(chat.wait_for("/notify").body)
    assert posted == {"text": "pull_request on octo/widgets (d-1)"}


def test_a_delivery_with_a_wrong_signature_is_refused():
    with local_function(env={"WEBHOOK_SECRET": SECRET}) as function:
        answer = function.invoke(delivery(secret="not-the-secret")).json()
    assert answer["statusCode"] == 401
