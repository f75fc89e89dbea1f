"""A tool's integration that fails never fails the user's work: `defer` still accepts, the
callback still runs, the flush point still runs the other hooks, and an integration that cannot
start is not tried again; each failure is logged. Integrations that raise stand in for a tool
version the integration does not know, since no real tool fails on demand; each case runs in a
fresh interpreter, set up as the runtime sets itself up (its logs, its streams)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SET_UP = """
import sys, types
from contextlib import contextmanager
from lambda_ack import deferred, logs, telemetry
from lambda_ack.telemetry import tools
logs.setup(None, None)
"""

FAILING_INTEGRATION = (
    SET_UP
    + """
class Broken(tools.Integration):
    def capture(self):
        raise AttributeError("capture: this version has no such attribute")

    @contextmanager
    def observe(self, callback, attempt, captured):
        raise AttributeError("observe: this version has no such attribute")
        yield

    def flush(self, budget_s, final):
        raise AttributeError("flush: this version has no such attribute")

telemetry.in_use.append(Broken())
telemetry.on_invocation_end(lambda: print("hook ran"))
batch = deferred.open_batch("req-guard")
deferred.defer(print, "deferred work ran")
(callback,) = batch.callbacks
print("captured", callback.captured)
telemetry.observed(callback, 1, lambda: callback.fn(*callback.args))
telemetry.invocation_ended(None)
"""
)

NOT_STARTING = (
    SET_UP
    + """
fake = types.ModuleType("lambda_ack.telemetry.broken_tool")
def integration():
    raise ImportError("the tool's version has moved this module")
fake.integration = integration
sys.modules["lambda_ack.telemetry.broken_tool"] = fake
sys.modules["a_tool_in_use"] = types.ModuleType("a_tool_in_use")
tools._TOOLS = (("a_tool_in_use", "broken_tool"),)
print("first", tools.discover([]), flush=True)
print("=== again", flush=True)
print("again", tools.discover([]), flush=True)
"""
)


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-P", "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_failing_integration_is_logged_and_the_work_still_runs():
    output = run(FAILING_INTEGRATION)
    assert "captured (None,)" in output
    assert "deferred work ran" in output and "hook ran" in output
    for logged in ("failed at defer", "could not observe a callback", "telemetry flush Broken"):
        assert logged in output, output


def test_an_integration_that_cannot_start_is_logged_once_and_not_tried_again():
    first, again = run(NOT_STARTING).split("=== again")
    assert "first []" in first and "the broken_tool integration could not start" in first
    assert "again []" in again and "broken_tool" not in again.replace("again []", "")
