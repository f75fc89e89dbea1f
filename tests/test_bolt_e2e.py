"""The Bolt example (`handler_example/bolt_app.py`) end to end: `./bootstrap` on the emulator.

Real slack_bolt and slack_sdk inside the runtime process; a loopback server stands in for Slack
(each command's response_url, the Web API at SLACK_API_URL) and for the status service the lazy
work asks. Every runtime here has a `boto3` tripwire first on its PYTHONPATH: importing it
records who did and fails, so "no Lambda invoke was attempted" is an observation, not a hope.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_support import FORM, command_body, lambda_body, signed_event
from test_slack_e2e import TOKEN, app_env, call, fresh_path

from devtools.demo import ROOT
from lambda_ack.cli.local.emulator import Emulator
from lambda_ack.cli.local.loopback import LoopbackServer

HANDLER = "handler_example/bolt_app.handler"
BOLT_HANDLERS = Path(__file__).resolve().parent / "bolt_handlers"
LAZY_MARKERS = [("x-slack-bolt-lazy-only", "1"), ("x-slack-bolt-lazy-function-name", "announce")]


class Boto3Tripwire:
    """A folder with a `boto3` package whose import appends the importing stack to `log` and
    raises ImportError: code that catches the error still leaves its trace."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "site"
        self.log = root / "boto3-imports.log"
        (self.folder / "boto3").mkdir(parents=True)
        (self.folder / "boto3" / "__init__.py").write_text(
            "import traceback\n"
            f"with open({str(self.log)!r}, 'a') as log:\n"
            "    log.write(''.join(traceback.format_stack()))\n"
            "raise ImportError('boto3 is a tripwire in this test')\n"
        )

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.folder)}

    def imports(self) -> str:
        """Every recorded import attempt, with its stack; empty when there was none."""
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture(scope="module")
def slack() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="module")
def tripwire(tmp_path_factory) -> Boto3Tripwire:
    return Boto3Tripwire(tmp_path_factory.mktemp("tripwire"))


@pytest.fixture(scope="module")
def function(slack, tripwire) -> Iterator[Emulator]:
    env = app_env(slack) | tripwire.env()
    with Emulator(HANDLER, ROOT, env=env, function_timeout_s=20) as emu:
        yield emu


def deferred_counts(function: Emulator) -> dict[str, int]:
    """What the last invocation's deferred phase did, from the runtime's own closing line."""
    function.wait_idle()
    request_id = function.timelines[-1].request_id
    line = re.search(rf"{request_id}\tinvocation done: ([^\n]*)", function.output)
    assert line, function.output[-2000:]
    return {k: int(v) for k, v in re.findall(r"(callbacks_run|failed|skipped)=(\d+)", line[1])}


def channel_posts(slack: LoopbackServer, task: str) -> list[dict]:
    """The Web API chat.postMessage calls about `task`, each checked to carry the bot token."""
    posts = [
        r for r in slack.requests if r.path == "/api/chat.postMessage" and task.encode() in r.body
    ]
    assert all(p.headers.get("authorization") == f"Bearer {TOKEN}" for p in posts)
    return [p.json() for p in posts]


def test_ack_first_then_each_lazy_function_in_order_in_one_invocation(function, slack, tripwire):
    task = f"report-{uuid.uuid4().hex[:8]}"
    status_path = f"/status?task={task}"
    slack.hold(status_path)  # `run_long_process` cannot finish until the test releases it
    response_path = fresh_path("commands")
    invocations_before = len(function.timelines)

    answer = call(function, signed_event(command_body(task, slack.url + response_path), FORM))

    # The caller has the ack while the first lazy function is still blocked on its work...
    assert answer["statusCode"] == 200
    assert lambda_body(answer) == f"Accepted! (task: {task})".encode()
    status = slack.wait_for(status_path)
    # ...and the second has not started: they run one after the other, in listed order.
    assert not [r for r in slack.requests if r.path == response_path]
    assert channel_posts(slack, task) == []
    slack.release(status_path)

    # `respond` posts to the command's response_url; `say` uses the app's client and channel.
    completed = slack.wait_for(response_path)
    assert completed.json()["text"].startswith(f"Completed! (task: {task})\nThe status service")
    said = slack.wait_until(lambda: channel_posts(slack, task), 10, "the announcement")
    assert [(p["channel"], p["text"]) for p in said] == [
        ("C0TEST", f"<@U0TEST> started a task: {task}")
    ]
    [announce] = [r for r in slack.requests if task.encode() in r.body and "/api/" in r.path]
    assert status.at < completed.at < announce.at
    # The two lazy functions, and the listener's rest after its ack() posted the answer.
    assert deferred_counts(function) == {"callbacks_run": 3, "failed": 0, "skipped": 0}
    assert "announced task" in function.output  # `logger` reached the lazy function
    # One invocation served the request and its lazy work: no re-invocation, no boto3.
    assert len(function.timelines) == invocations_before + 1
    assert tripwire.imports() == ""


def test_a_rest_api_event_is_served_the_same_way(function, slack):
    task = f"rest-{uuid.uuid4().hex[:8]}"
    response_path = fresh_path("commands")
    event = signed_event(command_body(task, slack.url + response_path), FORM, shape="1.0")
    answer = call(function, event)
    assert lambda_body(answer) == f"Accepted! (task: {task})".encode()
    assert slack.wait_for(response_path).json()["text"].startswith(f"Completed! (task: {task})")
    assert deferred_counts(function)["callbacks_run"] == 3


def test_an_empty_command_gets_the_usage_line_and_no_work(function, slack):
    response_path = fresh_path("commands")
    answer = call(function, signed_event(command_body(" ", slack.url + response_path), FORM))
    assert lambda_body(answer).startswith(b"Usage: /start-process")
    assert deferred_counts(function) == {"callbacks_run": 3, "failed": 0, "skipped": 0}
    assert not [r for r in slack.requests if r.path == response_path]


@pytest.mark.parametrize(
    "signing",
    [{"secret": "forged-signing-secret"}, {"timestamp": 1_000_000_000}],
    ids=["forged signature", "stale timestamp"],
)
def test_an_unverified_request_gets_401_and_nothing_runs(function, slack, signing):
    task = f"forged-{uuid.uuid4().hex[:8]}"
    response_path = fresh_path("commands")
    event = signed_event(command_body(task, slack.url + response_path), FORM, **signing)
    answer = call(function, event)
    assert answer["statusCode"] == 401
    assert b"Accepted" not in lambda_body(answer)
    assert deferred_counts(function)["callbacks_run"] == 0
    touched = [r for r in slack.requests if task in r.path or r.path == response_path]
    assert touched == [] and channel_posts(slack, task) == []


def test_lazy_marker_headers_on_an_http_request_are_ignored(function, slack):
    """Bolt's markers are unsigned headers: sent with a captured request they must not skip the
    ack and pick one lazy function to run."""
    task = f"marked-{uuid.uuid4().hex[:8]}"
    response_path = fresh_path("commands")
    body = command_body(task, slack.url + response_path)
    answer = call(function, signed_event(body, FORM, extra=LAZY_MARKERS))
    assert lambda_body(answer) == f"Accepted! (task: {task})".encode()
    assert deferred_counts(function)["callbacks_run"] == 3
    assert slack.wait_for(response_path).json()["text"].startswith("Completed!")


def test_a_queued_re_invocation_from_bolts_own_adapter_runs_its_one_function(function, slack):
    """After the switch, an async invoke Bolt's adapter queued before it (top-level "method":
    "NONE", which no HTTP front door sends) runs only the function it names, once."""
    task = f"queued-{uuid.uuid4().hex[:8]}"
    response_path = fresh_path("commands")
    event = signed_event(command_body(task, slack.url + response_path), FORM, extra=LAZY_MARKERS)
    event["method"] = "NONE"
    call(function, event)
    assert deferred_counts(function)["callbacks_run"] == 0  # Bolt runs it inside the handler
    assert len(channel_posts(slack, task)) == 1
    assert not [r for r in slack.requests if r.path == response_path]


def test_a_failing_lazy_function_does_not_stop_the_next(emulator, slack, tripwire):
    with socket.socket() as closed:  # bound, never listening: the status service refuses
        closed.bind(("127.0.0.1", 0))
        status_url = f"http://127.0.0.1:{closed.getsockname()[1]}/status"
        env = app_env(slack, STATUS_URL=status_url) | tripwire.env()
        function = emulator(HANDLER, ROOT, env=env)
        task = f"doomed-{uuid.uuid4().hex[:8]}"
        response_path = fresh_path("commands")
        answer = call(function, signed_event(command_body(task, slack.url + response_path), FORM))
        failed = slack.wait_for(response_path).json()
        counts = deferred_counts(function)
    assert lambda_body(answer) == f"Accepted! (task: {task})".encode()
    assert failed["text"] == f"Failed! (task: {task}): ConnectionError"
    assert counts == {"callbacks_run": 3, "failed": 1, "skipped": 0}  # with the ack()ed listener
    assert len(channel_posts(slack, task)) == 1  # `announce` ran after the failure
    log = function.output.replace("\r", "\n")
    assert "deferred callback run_long_process failed" in log
    assert "Traceback (most recent call last)" in log and "ConnectionError" in log
    assert tripwire.imports() == ""


def test_the_tripwire_catches_bolts_own_lambda_adapter(emulator, slack, tmp_path):
    """Control: on the same runtime the same tripwire fires for Bolt's own adapter, so its
    silence in the tests above means something."""
    tripwire = Boto3Tripwire(tmp_path)
    function = emulator("bolt_own_adapter.handler", BOLT_HANDLERS, env=tripwire.env())
    result = function.invoke(signed_event(command_body("x", slack.url + "/unused"), FORM))
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "boto3 is a tripwire" in result.json()["errorMessage"]
    assert "slack_bolt/adapter/aws_lambda" in tripwire.imports()


def test_bolts_logging_recipe_gives_bolts_and_slack_sdks_debug_lines_masked(emulator, slack):
    """Bolt's examples call clear_all_log_handlers() then logging.basicConfig(level=DEBUG)."""
    function = emulator("bolts_logging_recipe.handler", BOLT_HANDLERS, env=app_env(slack))
    task = f"logged-{uuid.uuid4().hex[:8]}"
    answer = call(function, signed_event(command_body(task, slack.url + "/unused"), FORM))
    assert lambda_body(answer) == b"Accepted!"
    slack.wait_until(lambda: channel_posts(slack, task), 10, "the say() post")
    function.wait_idle()
    log = function.output
    assert "Incoming event: " in log  # Bolt's adapter line, at DEBUG
    assert "Sending a request - url: " in log and "chat.postMessage" in log  # slack_sdk's
    assert "the bot token is [REDACTED]" in log and TOKEN not in log
