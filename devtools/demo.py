"""`./dev demo`: the Slack example end to end on this machine, no AWS account, no Slack workspace.

A loopback server stands in for Slack (the command's `response_url` and the Web API). The demo
sends the function a correctly signed `/start-process` slash command as a Function URL event,
shows the acknowledgement and how long it took, then the follow-up message the deferred work
posts. `--rie` runs the same on AWS's Runtime Interface Emulator, where the acknowledgement
arrives late, and says why.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO

from lambda_ack.cli.local.invoke import InvokeResult
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.slack_request import COMMAND, SIGNING_SECRET, slash_command_event

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "handler_example/app.handler"
RESPONSE_URL_PATH = "/commands/T0DEMO/1000000001/demo-response-url"
STATUS_PATH = "/status"  # the slow backend the example's long work asks (STATUS_URL)
STATUS_DELAY_S = 2.0


def describe_ack(result: InvokeResult) -> tuple[bool, str]:
    """(is it a 200 acknowledgement, what the Slack user would see) from the Lambda result."""
    if result.status != 200 or result.function_error:
        return False, f"function error {result.function_error}: {result.body[:300]!r}"
    try:
        payload = result.json()
    except ValueError:
        return False, f"not JSON: {result.body[:300]!r}"
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return True, json.dumps(payload)
    body = payload.get("body") or ""
    if payload.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        text = json.loads(body).get("text", body)
    except (ValueError, AttributeError):
        text = body
    return payload["statusCode"] == 200, f"HTTP {payload['statusCode']} {text!r}"


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S.%f")[:-3]


def run(
    rie: bool = False,
    text: str = "quarterly-report",
    handler: str = HANDLER,
    task_root: str | Path = ROOT,
    wait_s: float = 30.0,
    out: TextIO = sys.stdout,
) -> int:
    """The whole demo; 0 when the acknowledgement and the follow-up both arrived as expected."""

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    with LoopbackServer() as slack:
        env = {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-demo-token-not-a-real-one",
            "SLACK_API_URL": f"{slack.url}/api/",
            "STATUS_URL": f"{slack.url}{STATUS_PATH}",
            "LAMBDA_RUNTIME_PYTHON": sys.executable,
        }
        # The example's long work asks a status service; the stand-in answers it only after
        # STATUS_DELAY_S, so the demo shows an acknowledgement that does not wait for slow work.
        slack.hold(STATUS_PATH)
        if rie:
            try:
                from lambda_ack.cli.local.rie import RIE
            except ImportError as e:
                say(f"demo: --rie needs lambda_ack.cli.local.rie, not available here ({e})")
                return 2
            function = RIE(handler, task_root, env=env)
            where = "AWS's Runtime Interface Emulator (RIE)"
        else:
            from lambda_ack.cli.local.emulator import Emulator

            function = Emulator(handler, task_root, env=env, timeline=out)
            where = "lambda_ack.cli.local.emulator"
        with function:
            say(f"Slack example on {where}: no AWS account, no Slack workspace")
            say(f"  function    {handler}  (task root {task_root})")
            say(f"  Slack       stand-in on {slack.url} (response_url and Web API)")
            say()
            event = slash_command_event(text, slack.url + RESPONSE_URL_PATH)
            say(f"{_clock()}  -> {COMMAND} {text}   (signed with the demo signing secret)")
            sent = time.perf_counter()
            slow_service = threading.Timer(STATUS_DELAY_S, slack.release, [STATUS_PATH])
            slow_service.start()
            result = function.invoke(event, timeout=wait_s + 30)
            ok, ack = describe_ack(result)
            say(f"{_clock()}  <- acknowledgement after {result.elapsed_ms:.0f} ms: {ack}")
            try:
                follow_up = slack.wait_for(RESPONSE_URL_PATH, timeout=wait_s)
            except TimeoutError:
                slow_service.cancel()
                say(f"demo: no follow-up reached the response_url within {wait_s:g} s")
                _show_runtime_output(say, function.output)
                return 1
            after_invoke = (follow_up.at - sent) * 1000
            after_ack = after_invoke - result.elapsed_ms
            message = _message_text(follow_up.body)
            say(
                f"{_clock()}  <- follow-up on response_url {after_invoke:.0f} ms after the "
                f"command ({after_ack:+.0f} ms from the acknowledgement): {message!r}"
            )
            if rie:
                _explain_rie(say, after_ack)
            else:
                function.wait_idle(timeout=wait_s)
                say(
                    "The acknowledgement went back as soon as the handler returned; the "
                    "follow-up came from deferred work that ran after it, in the same invocation."
                )
            others = [r for r in slack.requests if r.path != RESPONSE_URL_PATH]
            for request in others:
                say(f"  (the Slack stand-in also received {request.method} {request.path})")
            if not ok:
                _show_runtime_output(say, function.output)
            return 0 if ok else 1


def _message_text(body: bytes) -> str:
    try:
        return json.loads(body).get("text", body.decode())
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")


def _explain_rie(say, after_ack_ms: float) -> None:
    order = "before" if after_ack_ms <= 0 else "only just after"
    say(
        f"Under RIE the follow-up arrived {order} the acknowledgement. RIE hands the caller the "
        "response only when the runtime asks for the next event (GET /runtime/invocation/next), "
        "that is after every deferred callback has finished. Lambda returns it as soon as the "
        "runtime posts /response, which is what the emulator (lambda_ack.cli.local.emulator) does: "
        "run `./dev demo` without --rie to see the real timing."
    )


def _show_runtime_output(say, output: str) -> None:
    say("runtime output:")
    for line in output.splitlines()[-30:]:
        say(f"  | {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__.splitlines()[0])
    parser.add_argument("--rie", action="store_true", help="run on AWS's RIE instead")
    parser.add_argument("--text", default="quarterly-report", help="the command's text")
    parser.add_argument("--handler", default=HANDLER, help=f"default {HANDLER}")
    parser.add_argument("--task-root", default=str(ROOT), help="default: the repository root")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for replies")
    args = parser.parse_args(argv)
    sys.exit(run(args.rie, args.text, args.handler, args.task_root, args.wait))


if __name__ == "__main__":
    main()
