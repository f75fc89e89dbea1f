"""`defer` on AWS's managed Python runtime: awslambdaric (4.2.2, the newest) as the runtime under
the real RIE, no Docker, with `@runtime.deferrable` registering the internal extension.

awslambdaric comes from the benchmark's cached venv (`bench.envs`), where it is pinned; the
`runtime` and `lambda_ack` packages come from the layer `./build.sh --managed-layer` makes,
unpacked where Lambda would put it. RIE, like Lambda, ends an invocation only once every
extension has asked for its next event: each callback posts to a loopback server the test
holds, so "the work ran within the invocation" is that every post has arrived by the time the
invoke returns.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.envs import awslambdaric_bootstrap, bench_python
from lambda_ack.cli.local.loopback import LoopbackServer
from lambda_ack.cli.local.rie import RIE

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = Path(__file__).resolve().parent / "managed_handlers"


@pytest.fixture(scope="module")
def layer(tmp_path_factory) -> Path:
    """The managed-runtime layer build.sh makes, unpacked: its `python/` is what Lambda puts on
    the path (as /opt/python)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [str(ROOT / "build.sh"), "--managed-layer", "--out", str(out)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stderr
    unpacked = out / "unpacked"
    subprocess.run(
        [sys.executable, "-m", "zipfile", "-e", str(out / "runtime-layer.zip"), str(unpacked)],
        check=True,
    )
    return unpacked / "python"


@pytest.fixture(scope="module")
def marks():
    """Where the callbacks post what they did (`say`): a record that is complete before the
    callback returns, so before the extension releases the invocation."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="module")
def awslambdaric(tmp_path_factory) -> Path:
    """A bootstrap that starts awslambdaric, as the managed runtime does."""
    return awslambdaric_bootstrap(tmp_path_factory.mktemp("managed"), bench_python())


def on_the_managed_runtime(awslambdaric: Path, layer: Path, marks) -> RIE:
    """The handler on awslambdaric under RIE, with a 2 s function timeout."""
    env = {"PYTHONPATH": str(layer), "AWS_LAMBDA_FUNCTION_TIMEOUT": "2", "MARKS_URL": marks.url}
    return RIE("app.handler", HANDLERS, env=env, bootstrap=awslambdaric)


@pytest.fixture(scope="module")
def managed(awslambdaric, layer, marks):
    with on_the_managed_runtime(awslambdaric, layer, marks) as function:
        yield function


def invoked(function, marks, event: dict):
    """Invoke; (the answer, the paths the callbacks posted by the time the answer came, the
    runtime's log of the invocation once RIE has ended it)."""
    before = len(marks.requests)
    result = function.invoke(event)
    said = [r.path.lstrip("/").replace("-", " ") for r in marks.requests[before:]]
    request_id = re.findall(r"START RequestId: (\S+)", function.output)[-1]
    output = function.wait_output(f"END RequestId: {request_id}")
    return result.json(), said, output[output.rindex(f"START RequestId: {request_id}") :]


def test_callbacks_run_in_order_before_rie_ends_the_invocation(managed, marks):
    answer, said, log = invoked(managed, marks, {"case": "order"})
    assert answer["served_by"] == "managed runtime"
    # All three had posted before the invoke returned: RIE waited for the extension, as Lambda
    # waits before it freezes the environment.
    assert said == ["first", "second", "third"]
    assert "deferred work done: " in managed.wait_output("callbacks_run=3 failed=0")


def test_a_failing_callback_is_logged_with_its_traceback_and_the_next_one_runs(managed, marks):
    _, said, _ = invoked(managed, marks, {"case": "failing"})
    assert said == ["after the failure"]
    log = managed.wait_output("callbacks_run=2 failed=1")
    assert "deferred callback fail failed" in log
    assert "RuntimeError: callback failed on purpose" in log


def test_a_callback_within_the_deadlines_margin_is_skipped_and_said(managed, marks):
    _, said, _ = invoked(managed, marks, {"case": "deadline", "sleep_s": 1.6})
    assert said == []
    log = managed.wait_output("deferred callback say skipped")
    assert "under the 500 ms safety margin" in log


def test_a_failed_handler_discards_its_callbacks_except_always(managed, marks):
    answer, said, _ = invoked(managed, marks, {"case": "error"})
    assert answer["errorType"] == "ValueError"
    assert said == ["always ran"]
    assert "the invocation failed (ValueError)" in managed.wait_output(
        "deferred callback say discarded"
    )


def test_async_callbacks_are_awaited(managed, marks):
    _, said, _ = invoked(managed, marks, {"case": "async"})
    assert said == ["async callback ran"]


def test_many_callbacks_all_run_and_a_callback_may_defer_more(managed, marks):
    _, said, _ = invoked(managed, marks, {"case": "many"})
    assert said == [f"callback {i}" for i in range(200)]
    _, said, _ = invoked(managed, marks, {"case": "nested"})
    assert said == ["deferred from a callback"]


def test_a_deferrable_handler_calling_another_runs_every_callback(managed, marks):
    _, said, log = invoked(managed, marks, {"case": "nested-handlers"})
    assert said == ["outer before", "inner", "outer after"], log
    assert managed.wait_output("callbacks_run=3 failed=0")


def test_nested_deferrable_handlers_outside_lambda_run_every_callback_after_the_outer():
    """A unit test calling the handler (no Runtime API): the callbacks run when the outermost
    handler returns, not when the inner one does (which would close the batch under the outer
    one's later `defer`)."""
    script = (
        "from types import SimpleNamespace\n"
        "import app\n"
        "print(app.handler({'case': 'nested-handlers'}, SimpleNamespace(aws_request_id='t'))"
        "['case'])\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{HANDLERS}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=HANDLERS
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == [
        "outer before",
        "inner",
        "outer after",
        "nested-handlers",
    ]


def _posted_after_ms(log: str) -> int:
    """From RIE's INVOKE START to its receipt of the /response post, by RIE's own clock."""

    def at(pattern: str) -> int:
        found = re.search(rf"(\d\d):(\d\d):(\d\d),(\d{{3}}) \[\w+\] \(rapid\) {pattern}", log)
        h, m, s, ms = map(int, found.groups())
        return ((h * 60 + m) * 60 + s) * 1000 + ms

    return at(r"API request - POST \S+/response") - at("INVOKE START")


def test_a_busy_callback_does_not_hold_back_the_answer(managed, marks):
    """A CPU-bound callback shares the GIL with awslambdaric's thread, which is still posting
    the answer when the callback starts: the post must not wait for the 500 ms callback."""
    _, said, log = invoked(managed, marks, {"case": "busy", "busy_s": 0.5})
    assert said == ["busy callback done"]
    assert _posted_after_ms(log) < 250


def test_the_watchdog_names_a_callback_still_running_at_the_deadline(awslambdaric, layer, marks):
    with on_the_managed_runtime(awslambdaric, layer, marks) as function:
        function.invoke({"case": "stuck"})  # RIE ends it at the 2 s timeout
        log = function.wait_output("deferred callback sleep is still running")
    assert "ms before the deadline" in log


def test_the_same_handler_file_runs_unchanged_on_this_runtime():
    with RIE("app.handler", HANDLERS, env={"PYTHONPATH": str(ROOT)}) as function:
        result = function.invoke({"case": "order"})
        output = function.wait_output("invocation done")
    assert result.json()["served_by"] == "lambda-ack"
    assert output.index("first\n") < output.index("second\n") < output.index("third\n")
    assert "lambda-ack-deferred" not in output  # no extension of its own: the loop does it
    assert json.loads(result.body)["case"] == "order"


def test_the_packages_also_work_as_folders_in_the_functions_zip(awslambdaric, marks, tmp_path):
    """No layer: `runtime/` and `lambda_ack/` beside the handler, as in the function's zip."""
    for package in ("runtime", "lambda_ack"):
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy2(HANDLERS / "app.py", tmp_path / "app.py")
    env = {"MARKS_URL": marks.url}
    with RIE("app.handler", tmp_path, env=env, bootstrap=awslambdaric) as function:
        answer, said, _ = invoked(function, marks, {"case": "order"})
    assert answer["served_by"] == "managed runtime"
    assert said == ["first", "second", "third"]
