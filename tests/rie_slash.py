"""One signed `/start-process` through a `bootstrap` under the real RIE, Slack played by a loopback
server: what every "does this deployment serve the example" test sends and collects."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from slack_support import lambda_body

from devtools.demo import HANDLER
from lambda_ack.cli.local.loopback import LoopbackServer, Request
from lambda_ack.cli.local.rie import RIE
from lambda_ack.cli.local.slack_request import SIGNING_SECRET, slash_command_event


@dataclass
class SlashCommand:
    ack: dict  # the HTTP body the function answered, decoded
    follow_up: dict  # what the deferred work posted to the response_url
    requests: list[Request]  # everything "Slack" and the status service received, in order
    output: str  # RIE's and the runtime's log


def slash_command_on_rie(
    task: str, task_root: Path, env: dict[str, str | None], handler: str = HANDLER, **rie: object
) -> SlashCommand:
    """`env` adds to (or, with None, removes from) the signing secret and STATUS_URL given."""
    with LoopbackServer() as slack:
        env = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "STATUS_URL": f"{slack.url}/status"} | env
        with RIE(handler, task_root, env=env, **rie) as function:  # type: ignore[arg-type]
            response_path = f"/commands/{uuid.uuid4().hex}"
            result = function.invoke(slash_command_event(task, slack.url + response_path))
            assert result.status == 200 and not result.function_error, function.output
            follow_up = slack.wait_for(response_path, timeout=5)
            output = function.output
        answer = result.json()
        assert answer["statusCode"] == 200, output
        ack = json.loads(lambda_body(answer))
        return SlashCommand(ack, follow_up.json(), list(slack.requests), output)
