"""Start-up: how `bootstrap` finds Python and the handler, and how init failures are reported."""

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest
from fake_api import HANDLERS, ROOT, FakeRuntimeAPI, RuntimeProcess

pytest_plugins = ["fake_api"]


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack"),
        (".handler", "Runtime.MalformedHandlerName", "Bad handler '.handler': the module and the function must both be named"),
        ("basic..handler", "Runtime.MalformedHandlerName", "Bad handler 'basic..handler': the module and the function"),
        ("basic.", "Runtime.MalformedHandlerName", "Bad handler 'basic.': the module and the function"),
        ("nowhere.handler", "Runtime.ImportModuleError", "Unable to import module 'nowhere': No module named 'nowhere'"),
        ("imports_missing.handler", "Runtime.ImportModuleError", "Unable to import module 'imports_missing': No module named 'module_that_does_not_exist'"),
        ("basic.absent", "Runtime.HandlerNotFound", "Handler 'absent' missing on module 'basic'"),
        ("basic.not_a_function", "Runtime.HandlerNotFound", "Handler 'not_a_function' on module 'basic' is not callable"),
        ("broken_syntax.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken_syntax': expected ':'"),
        ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
        ("raises_at_import.handler", "LookupError", "no config at import"),
        ("defers_at_import.handler", "RuntimeError", "defer() was called outside an invocation"),
    ],
)  # fmt: skip
def test_init_failure_is_posted_then_the_process_exits_1(runtime, handler, error_type, message):
    api, proc = runtime(handler)
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith("/init/error")), None))
    assert proc.wait_exit() == 1
    assert error.headers["lambda-runtime-function-error-type"] == error_type
    payload = error.json()
    assert payload["errorType"] == error_type
    assert payload["errorMessage"].startswith(message)
    assert payload["requestId"] == ""
    assert isinstance(payload["stackTrace"], list)
    assert not any(r.path.endswith("/next") for r in api.records)  # never served unloaded code
    assert f"[ERROR] {error_type}: {message}" in proc.output
    # The managed runtime's warning comes first, one event (it ends in \r, as there).
    warning, error = (
        proc.output.index("LAMBDA_WARNING: Unhandled exception."),
        proc.output.index("[ERROR]"),
    )
    assert warning < error
    assert "runtimes-update.html\r\n" in proc.output


def test_syntax_error_trace_points_at_the_line(runtime):
    api, proc = runtime("broken_syntax.handler")
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith("/init/error")), None))
    (entry,) = error.json()["stackTrace"]
    assert entry.startswith(f'  File "{HANDLERS / "broken_syntax.py"}" Line 1\n')
    assert "def handler(event, context)" in entry


def test_handler_in_a_sub_folder_and_task_root_first_on_sys_path(runtime):
    api, _ = runtime("sub/deeper/nested.handler")
    assert api.outcome(api.push({})).json() == "nested"
    api2, _ = runtime("basic.context_facts")
    assert api2.outcome(api2.push({})).json()["sys_path0"] == str(HANDLERS)


def recording_python(tmp_path) -> tuple[Path, Path]:
    """An interpreter that writes the arguments it was started with to a file, then runs them:
    (the interpreter, the file)."""
    marker = tmp_path / "used"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > {marker}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, marker


def test_lambda_runtime_python_picks_the_interpreter(runtime, tmp_path):
    wrapper, marker = recording_python(tmp_path)
    api, _ = runtime("basic.echo", LAMBDA_RUNTIME_PYTHON=str(wrapper))
    assert api.outcome(api.push(1)).json()["event"] == 1
    # The entry point as a script (no `runpy`), where `bootstrap` finds the package beside it.
    assert marker.read_text().split() == ["-u", "-P", str(ROOT / "lambda_ack" / "__main__.py")]


def test_bootstrap_of_a_function_zip_runs_the_entry_point_in_vendor(runtime, tmp_path):
    """A function zip carries the runtime in `vendor/`: the entry point found there runs as a
    script too."""
    wrapper, marker = recording_python(tmp_path)
    unpacked = tmp_path / "task"
    shutil.copytree(
        ROOT / "lambda_ack",
        unpacked / "vendor" / "lambda_ack",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy2(ROOT / "bootstrap", unpacked / "bootstrap")
    api, _ = runtime(
        "basic.echo", bootstrap=unpacked / "bootstrap", LAMBDA_RUNTIME_PYTHON=str(wrapper)
    )
    assert api.outcome(api.push(1)).json()["event"] == 1
    main = unpacked / "vendor" / "lambda_ack" / "__main__.py"
    assert marker.read_text().split() == ["-u", "-P", str(main)]


def test_bootstrap_without_the_package_beside_it_starts_the_runtime_with_dash_m(runtime, tmp_path):
    """A `bootstrap` copied away from the package (the runtime installed elsewhere, on
    PYTHONPATH) starts it as `python -m lambda_ack`."""
    wrapper, marker = recording_python(tmp_path)
    alone = tmp_path / "bin" / "bootstrap"
    alone.parent.mkdir()
    shutil.copy2(ROOT / "bootstrap", alone)
    api, _ = runtime(
        "basic.echo", bootstrap=alone, LAMBDA_RUNTIME_PYTHON=str(wrapper), PYTHONPATH=str(ROOT)
    )
    assert api.outcome(api.push(1)).json()["event"] == 1
    assert marker.read_text().split() == ["-u", "-P", "-m", "lambda_ack"]


def test_exec_wrapper_runs_the_runtime_command(runtime, tmp_path):
    wrapper = tmp_path / "wrapper"
    wrapper.write_text('#!/bin/sh\nexport WRAPPED="by wrapper: $2 $3 $4 $5"\nexec "$@"\n')
    wrapper.chmod(0o755)
    api, _ = runtime("basic.wrapped", AWS_LAMBDA_EXEC_WRAPPER=str(wrapper))
    main = ROOT / "lambda_ack" / "__main__.py"
    assert api.outcome(api.push({})).json() == f"by wrapper: -u -P {main} "


def test_exec_wrapper_that_is_not_executable_is_a_clear_error(runtime, tmp_path):
    wrapper = tmp_path / "wrapper"
    wrapper.write_text("not executable")
    _, proc = runtime("basic.echo", AWS_LAMBDA_EXEC_WRAPPER=str(wrapper))
    assert proc.wait_exit() == 127
    assert f"AWS_LAMBDA_EXEC_WRAPPER={wrapper} is not an executable file" in proc.output


def test_bundled_interpreter_beside_bootstrap_is_preferred_to_path(runtime, tmp_path):
    """A zip with python/bin/python3 next to bootstrap runs on that interpreter."""
    task = tmp_path / "task"
    (task / "python" / "bin").mkdir(parents=True)
    marker = tmp_path / "bundled-used"
    bundled = task / "python" / "bin" / "python3"
    bundled.write_text(f'#!/bin/sh\ntouch {marker}\nexec {sys.executable} "$@"\n')
    bundled.chmod(0o755)
    shutil.copy2(ROOT / "bootstrap", task / "bootstrap")
    for package in ("lambda_ack", "runtime"):
        (task / package).symlink_to(ROOT / package)

    api, _ = runtime("basic.echo", bootstrap=task / "bootstrap", LAMBDA_RUNTIME_PYTHON="")
    assert api.outcome(api.push(5)).json()["event"] == 5
    assert marker.exists()


def test_missing_runtime_api_address_is_a_clear_error(runtime):
    _, proc = runtime("basic.echo", AWS_LAMBDA_RUNTIME_API="")
    assert proc.wait_exit() == 1
    assert "AWS_LAMBDA_RUNTIME_API is not set" in proc.output


def test_unreachable_runtime_api_retries_then_exits_with_a_clear_message():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    proc = RuntimeProcess(address, "basic.echo")
    try:
        assert proc.wait_exit() == 1
        output = proc.output
        assert "unreachable after 5 attempts" in output
        assert output.count("retrying") == 3  # first retry is immediate, then 3 logged pauses
    finally:
        proc.stop()


def test_invalid_margin_setting_fails_init(runtime):
    api, proc = runtime("basic.echo", LAMBDA_RUNTIME_DEFER_MARGIN_MS="soon")
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith("/init/error")), None))
    assert error.json()["errorType"] == "Runtime.InvalidConfiguration"
    assert proc.wait_exit() == 1


def test_user_environment_is_untouched_apart_from_the_documented_variables(runtime):
    api, _ = runtime("basic.environment", CUSTOM_SETTING="kept")
    env = api.outcome(api.push({})).json()
    assert env["CUSTOM_SETTING"] == "kept"
    assert env["PYTHONPATH"].split(":")[0] == str(ROOT)
    assert "_X_AMZN_TRACE_ID" in env


@pytest.fixture(autouse=True)
def _no_inherited_lambda_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("AWS_LAMBDA", "_HANDLER")):
            monkeypatch.delenv(name)


CLASHING_APP = """
import runtime
from lambda_ack import defer

def handler(event, context):
    defer(print, "deferred through lambda_ack ran")
    return {"served": True, "runtime": runtime.WHOSE}
"""
CLASHING_RUNTIME = """
WHOSE = "the function's own"
if __name__ == "__main__":
    print("the function's own runtime module ran instead of the runtime")
"""


@pytest.mark.parametrize("layout", ["runtime.py", "runtime/__init__.py"])
def test_a_module_of_the_functions_own_named_runtime_is_the_functions(tmp_path, layout):
    """Lambda starts the runtime in the task root. A `runtime` module of the function's there
    must neither start in the runtime's place (exit 0, nothing on /init/error) nor be replaced
    by the runtime's API when the function imports it; `lambda_ack` still gives that API."""
    (tmp_path / "app.py").write_text(CLASHING_APP)
    (tmp_path / layout).parent.mkdir(exist_ok=True)
    (tmp_path / layout).write_text(CLASHING_RUNTIME)
    api = FakeRuntimeAPI()
    proc = RuntimeProcess(
        api.address, "app.handler", {"LAMBDA_TASK_ROOT": str(tmp_path)}, cwd=tmp_path
    )
    try:
        outcome = api.outcome(api.push({}))
        assert outcome.json() == {"served": True, "runtime": "the function's own"}
        proc.wait_output("deferred through lambda_ack ran")
        assert "ran instead of the runtime" not in proc.output
    finally:
        proc.stop()
        api.close()
