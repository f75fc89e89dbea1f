"""The slash command through `./bootstrap` on AWS's Runtime Interface Emulator (`./dev rie`).

RIE hands the caller its answer only when the runtime asks for the next event, so here the
follow-up has already arrived when `invoke` returns; the emulator tests show the real timing.
What this adds is the real Runtime API implementation in front of the same app.
"""

from __future__ import annotations

import json
import sys
import uuid

from slack_support import FORM, command_body, lambda_body, signed_event

from devtools.demo import ROOT
from lambda_ack.cli.local import rie
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.slack_request import SIGNING_SECRET, slash_command_event


def test_slash_command_on_the_real_rie():
    with LoopbackServer() as slack:
        env = {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "STATUS_URL": f"{slack.url}/status",
            "LAMBDA_RUNTIME_PYTHON": sys.executable,
        }
        with rie.RIE("handler_example/app.handler", ROOT, env=env, function_timeout_s=30) as fn:
            response_path = f"/commands/{uuid.uuid4().hex}"
            result = fn.invoke(slash_command_event("on-rie", slack.url + response_path))
            forged = fn.invoke(
                signed_event(command_body("x", slack.url + "/never"), FORM, secret="forged")
            )

        assert result.status == 200 and not result.function_error, fn.output
        answer = result.json()
        assert answer["statusCode"] == 200
        assert json.loads(lambda_body(answer)) == {"text": "Accepted! (task: on-rie)"}
        completed = slack.wait_for(response_path, timeout=1)  # already there: RIE waited for it
        assert completed.json()["text"] == "Completed! (task: on-rie)"
        paths = [r.path for r in slack.requests]
        assert paths == ["/status?task=on-rie", response_path]
        assert forged.json()["statusCode"] == 401
