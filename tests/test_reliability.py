"""Faults from the Runtime API, the handler and deferred callbacks: the runtime's answer to each.

Scripted loopback Runtime API: RIE can neither drop connections nor send SIGTERM on shutdown.
"""

import os
import re
import signal
import time

from fake_api import CLOSE, TRUNCATE
from test_loop import until_next

pytest_plugins = ["fake_api"]


def test_connection_closed_on_next_is_retried(runtime):
    api, _ = runtime("basic.echo")
    api.script("next", (CLOSE, b""), (TRUNCATE, b'{"partial": '))
    request_id = api.push({"after": "faults"})
    assert api.outcome(request_id).json()["event"] == {"after": "faults"}


def test_connection_closed_on_next_every_time_ends_the_process(runtime):
    api, proc = runtime("basic.echo")
    api.script("next", *[(CLOSE, b"")] * 5)
    assert proc.wait_exit() == 1
    assert "unreachable after 5 attempts" in proc.output
    assert api.paths() == ["/invocation/next"] * 5


def test_connection_closed_on_response_is_retried(runtime):
    api, proc = runtime("basic.with_callbacks")
    api.script("response", (CLOSE, b""))
    request_id = api.push({})
    api.wait_for(until_next(2))
    posts = [p for p in api.paths() if p.endswith("/response")]
    assert posts == [f"/invocation/{request_id}/response"] * 2
    assert "/mark/first" in api.paths()  # the second post was accepted: callbacks ran


def test_next_that_stays_silent_is_waited_for_without_spinning(runtime):
    api, proc = runtime("basic.echo")
    api.wait_for(until_next(1))
    cpu_before = _cpu_ticks(proc.proc.pid)
    # The stimulus here is time itself: hold /next silent for 3 s (no synchronisation involved).
    time.sleep(3)
    assert _state(proc.proc.pid) in ("S", "D")  # asleep in the request, not polling
    request_id = api.push({"late": True})
    assert api.outcome(request_id).json()["event"] == {"late": True}
    assert api.paths()[:1] == ["/invocation/next"]  # one request, no reconnect or timeout
    assert _cpu_ticks(proc.proc.pid) - cpu_before < 50  # < 0.5 s CPU: it was not polling


def test_keyboard_interrupt_answers_the_caller_then_exits(runtime):
    api, proc = runtime("faults.keyboard_interrupt")
    error = api.outcome(api.push({}))
    assert error.json()["errorType"] == "KeyboardInterrupt"
    assert proc.wait_exit() != 0


def test_infinite_recursion_is_an_error_payload_and_the_loop_goes_on(runtime):
    api, proc = runtime("faults.recursion")
    error = api.outcome(api.push({}))
    assert error.json()["errorType"] == "RecursionError"
    assert len(error.body) < 100_000  # repeated frames are folded, as the managed runtime does
    api.outcome(api.push({}))
    assert proc.proc.poll() is None


def test_returning_a_generator_is_a_marshal_error(runtime):
    api, _ = runtime("faults.generator")
    assert api.outcome(api.push({})).json()["errorType"] == "Runtime.MarshalError"


def test_returning_a_coroutine_from_a_sync_handler_awaits_it(runtime):
    api, _ = runtime("faults.returns_coroutine")
    assert api.outcome(api.push({})).json() == {"awaited": True}


def test_binary_junk_on_stdout_does_not_disturb_the_runtime(runtime):
    api, _ = runtime("faults.binary_junk")
    assert api.outcome(api.push({})).json() == "still fine"
    assert api.outcome(api.push({})).json() == "still fine"


def test_handler_that_clears_sys_path_and_environment(runtime):
    api, _ = runtime("faults.vandal")
    first = api.push({})
    assert api.outcome(first).json() == "forged"
    failing = api.push({"raise": True})
    assert api.outcome(failing).json()["errorType"] == "ValueError"
    third = api.push({}, headers={"Lambda-Runtime-Trace-Id": "Root=1-fresh"})
    assert api.outcome(third).json() == "forged"  # set by the handler after the runtime's reset


def test_thousand_callbacks_all_run_in_order(runtime):
    api, proc = runtime("faults.thousand_callbacks")
    api.push({})
    api.wait_for(until_next(2))
    assert "/mark/ran-1000-in-order-True" in api.paths()
    assert "callbacks_run=1001 failed=0" in proc.wait_output("invocation done")


def test_watchdog_names_the_callback_still_running_near_the_deadline(runtime, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    api, proc = runtime("faults.blocking_callback", LAMBDA_RUNTIME_DEFER_MARGIN_MS="0")
    api.push({"fifo": str(fifo)}, timeout_ms=1500)
    proc.wait_output("deferred callback block_on_fifo is still running")
    with open(fifo, "w"):
        pass  # release it
    output = proc.wait_output("invocation done")
    left = re.search(r"still running (\d+) ms before the deadline; Lambda will stop", output)
    assert left and int(left[1]) > 50  # warned ~200 ms ahead, not at the last moment


def sigterm_in_a_blocked_callback(runtime, tmp_path, handler: str):
    """`handler` defers a callback that blocks on a FIFO nobody opens; SIGTERM once it runs."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    api, proc = runtime(handler, extensions=True)
    api.push({"fifo": str(fifo)})
    api.wait_for(lambda rs: any(r.path == "/mark/started" for r in rs))
    proc.proc.send_signal(signal.SIGTERM)
    return api, proc


def test_sigterm_during_a_callback_reports_the_work_and_runs_hooks(runtime, tmp_path):
    api, proc = sigterm_in_a_blocked_callback(runtime, tmp_path, "faults.blocking_callback")
    assert proc.wait_exit() == 0
    output = proc.output
    assert "SIGTERM received: deferred callback block_on_fifo was running; not started: mark" in (
        output
    )
    assert "shutdown hook: pools closed" in output
    assert "shutdown hook broken_hook failed" in output and "RuntimeError: hook broke" in output
    assert "shutdown hook: last one ran" in output
    assert "/mark/never" not in api.paths()


def test_sigterm_while_idle_runs_hooks_and_exits_cleanly(runtime):
    api, proc = runtime("faults.generator", extensions=True)
    api.wait_for(until_next(1))
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait_exit() == 0
    assert "SIGTERM received while idle; no deferred work pending" in proc.output
    assert "shutdown hook: pools closed" in proc.output
    registered = [r for r in api.records if r.path == "/2020-01-01/extension/register"]
    assert registered[0].json() == {"events": []}
    assert registered[0].headers["lambda-extension-name"] == "lambda-ack-shutdown"


def test_a_sigterm_handler_of_the_functions_own_runs_after_the_account_before_the_hooks(
    runtime, tmp_path
):
    _, proc = sigterm_in_a_blocked_callback(runtime, tmp_path, "own_sigterm.blocking_callback")
    assert proc.wait_exit() == 0  # the status its sys.exit(0) asked for
    output = proc.output
    account = output.index("SIGTERM received: deferred callback block_on_fifo was running")
    users = output.index("[user] SIGTERM received, cleaning up")
    hooks = output.index("shutdown hook: pools closed")
    assert account < users < hooks


def test_without_an_extensions_api_sigterm_keeps_its_default_action(runtime):
    api, proc = runtime("faults.generator", extensions=False)
    api.wait_for(until_next(1))
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait_exit() == -signal.SIGTERM
    assert "SIGTERM received" not in proc.output


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_secrets_never_reach_the_logs_even_at_debug(runtime):
    api, proc = runtime(
        "faults.leaky",
        AWS_LAMBDA_LOG_LEVEL="DEBUG",
        SLACK_SIGNING_SECRET="s3cr3t-signing-value",
        MY_KEY="custom-secret-value",
        LAMBDA_RUNTIME_REDACT="MY_KEY",
    )
    api.outcome(api.push({}))
    output = proc.wait_output("invocation done")
    for secret in ("s3cr3t-signing-value", "xoxb-1234567890", "AKIAABCDEFGHIJKLMNOP", "custom-se"):
        assert secret not in output
    assert "signing with [REDACTED]" in output  # the DEBUG record, masked
    assert "token [REDACTED] and key [REDACTED], [REDACTED]" in output  # print()
    assert "[ERROR] ValueError: bad secret [REDACTED]" in output  # the error block


def test_six_megabyte_event_is_read_whole(runtime):
    api, _ = runtime("basic.event_size")
    text = "é" * (3 * 1024 * 1024 - 10)  # two bytes each in UTF-8: just under 6 MiB of JSON
    request_id = api.push({"text": text})
    assert api.outcome(request_id).json() == len(text)
