"""`./dev demo` (emulator mode) end to end, and the signed slash command it sends."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from lambda_ack.cli.local.slack_request import SIGNING_SECRET, slash_command_event

ROOT = Path(__file__).resolve().parent.parent
# Until handler_example/app.py exists the demo runs a stand-in with the same contract.
STANDIN = (
    []
    if (ROOT / "handler_example" / "app.py").exists()
    else [
        "--handler",
        "slack_standin.handler",
        "--task-root",
        str(ROOT / "tests/emulator_handlers"),
    ]
)


def test_the_demo_shows_the_acknowledgement_then_the_follow_up():
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--text", "nightly-build", *STANDIN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert re.search(
        r"acknowledgement after \d+ ms: HTTP 200 'Accepted! \(task: nightly-build\)'", out
    )
    assert re.search(
        r"follow-up on response_url \d+ ms after .*'Completed! \(task: nightly-build\)'", out
    )
    assert re.search(r"emulator: \w{8} ok +ack [\d.]+ ms \| deferred [\d.]+ ms", out)


def test_the_slash_command_is_signed_as_slack_signs_it():
    event = slash_command_event("x", "http://127.0.0.1:1/r")
    body = base64.b64decode(event["body"])

    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, event["headers"])
    assert not SignatureVerifier("another-secret").is_valid_request(body, event["headers"])
    assert b"command=%2Fstart-process" in body and b"text=x" in body
