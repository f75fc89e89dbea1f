"""SQS on loopback for the hand-off tests: moto's standalone server (pinned for development) in
this process, a queue per test, and SQS events shaped as Lambda's event source mapping delivers
them."""

from __future__ import annotations

import logging
import secrets
import uuid
from types import SimpleNamespace

import boto3
import pytest
from moto.server import ThreadedMotoServer

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDMOTOSTANDIN", "AWS_SECRET_ACCESS_KEY": "moto-not-secret"}


@pytest.fixture(scope="module")
def moto_url():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_client(service: str, moto_url: str):
    """A boto3 client of moto's server, with the test credentials."""
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def sqs(moto_url):
    client = aws_client("sqs", moto_url)
    queue = client.create_queue(QueueName=f"handoff-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    key = secrets.token_urlsafe(32)  # the function's own: signs its hand-off messages
    env = {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_url,
        "LAMBDA_RUNTIME_HANDOFF_QUEUE_URL": queue,
        "LAMBDA_RUNTIME_HANDOFF_KEY": key,
    }
    return SimpleNamespace(client=client, queue=queue, env=env, key=key)


def received(sqs, count: int, output: str = "") -> list[dict]:
    """`count` messages from the queue (long polls, so no waiting on a schedule)."""
    messages: list[dict] = []
    for _ in range(20):
        answer = sqs.client.receive_message(
            QueueUrl=sqs.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
            AttributeNames=["ApproximateReceiveCount"], MessageAttributeNames=["All"],
        )  # fmt: skip
        messages += answer.get("Messages", [])
        if len(messages) >= count:
            return messages
    raise AssertionError(f"{len(messages)} of {count} messages arrived\n{output}")


def as_records(messages: list[dict], *foreign: tuple[str, str]) -> dict:
    """An SQS event as Lambda's event source mapping delivers it."""
    records = [
        {
            "messageId": m["MessageId"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {
                name: {"stringValue": a["StringValue"], "dataType": a["DataType"]}
                for name, a in m.get("MessageAttributes", {}).items()
            },
        }
        for m in messages
    ] + [
        {"messageId": message_id, "body": body, "attributes": {}, "messageAttributes": {}}
        for message_id, body in foreign
    ]
    arn = "arn:aws:sqs:us-east-1:123456789012:handoff"
    return {"Records": [{**r, "eventSource": "aws:sqs", "eventSourceARN": arn} for r in records]}


def drain_once(sqs, deliver) -> bool:
    """One batch from the queue delivered as Lambda's event source mapping would: `deliver(event)`
    answers with `batchItemFailures`; those are made visible again at once, the rest deleted.
    False once the queue is empty."""
    answer = sqs.client.receive_message(
        QueueUrl=sqs.queue,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        AttributeNames=["ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    )
    messages = answer.get("Messages", [])
    if not messages:
        return False
    failed = {f["itemIdentifier"] for f in deliver(as_records(messages))["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.client.change_message_visibility(
                QueueUrl=sqs.queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.client.delete_message(QueueUrl=sqs.queue, ReceiptHandle=message["ReceiptHandle"])
    return True


class FirstRequestHeld:
    """A stand-in between the runtime and moto: the first request it gets is never answered
    (a send cut off mid-way), every later one is passed to moto and its answer back. `held` is
    set when the first has arrived."""

    def __init__(self, moto_url: str) -> None:
        import threading
        import urllib.error
        import urllib.request
        from http.server import BaseHTTPRequestHandler

        from lambda_ack.cli.local.loopback import QuietHTTPServer

        self.held = threading.Event()
        self._closed = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not proxy.held.is_set():
                    proxy.held.set()
                    proxy._closed.wait()
                    return
                skipped = {"host", "content-length", "connection"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skipped}
                forwarded = urllib.request.Request(moto_url + self.path, body, headers)
                try:
                    answer = urllib.request.urlopen(forwarded, timeout=10)
                except urllib.error.HTTPError as error:
                    answer = error
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in skipped | {"transfer-encoding", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._http.shutdown()
        self._http.server_close()
