"""`defer(..., retries=N)` and the checks of `defer(..., durable=True)`, through `./bootstrap` on
the scripted Runtime API: each attempt posts a mark, so attempts are counted on its timeline."""

import re

from fake_api import PREFIX

pytest_plugins = ["fake_api"]


def marks(api) -> list[str]:
    return [r.path.removeprefix("/mark/") for r in api.records if r.path.startswith("/mark/")]


def done_line(proc, request_id: str) -> str:
    output = proc.wait_output(f"{request_id}\tinvocation done")
    return re.search(rf"{request_id}\tinvocation done: ([^\n]*)", output)[1]


def test_a_failing_callback_is_retried_then_logged_as_failed(runtime):
    api, proc = runtime("retrying.always_fails")
    request_id = api.push({})
    line = done_line(proc, request_id)
    assert marks(api) == ["attempt-always"] * 3
    assert "callbacks_run=1 failed=1 skipped=0 discarded=0 retried=2" in line
    output = proc.output
    for attempt in (1, 2):
        assert (
            f"deferred callback fail_with_mark failed (attempt {attempt} of 3); retrying" in output
        )
    final = next(x for x in output.split("\n") if "failed (attempt 3 of 3)" in x)
    assert final.startswith("[ERROR]") and "ConnectionError: always failed" in final


def test_a_callback_that_succeeds_on_a_retry_is_not_a_failure(runtime):
    api, proc = runtime("retrying.fails_until_the_third")
    request_id = api.push({})
    line = done_line(proc, request_id)
    assert marks(api) == ["flaky-1", "flaky-2", "flaky-3"]
    assert "failed=0" in line and "retried=2" in line


def test_retries_stop_when_the_deadline_leaves_no_room(runtime):
    api, proc = runtime("retrying.fails_with_little_time")
    request_id = api.push({}, timeout_ms=2500)
    line = done_line(proc, request_id)
    retried = int(re.search(r"retried=(\d+)", line)[1])
    assert "failed=1" in line and retried < 30
    assert len(marks(api)) == retried + 1
    assert "no time left to retry before the deadline" in proc.output
    # The last attempt ended with at least the safety margin left: nothing ran into it.
    assert api.outcome(request_id).path == f"{PREFIX}/invocation/{request_id}/response"


def test_durable_refuses_what_cannot_be_run_again_at_the_call(runtime):
    api, proc = runtime("retrying.refuses_what_cannot_be_written_down")
    request_id = api.push({})
    refused = api.outcome(request_id).json()
    assert len(refused) == 5
    assert "got a lambda" in refused[0]
    assert "got a bound method" in refused[1]
    assert "a function defined inside another function" in refused[2]
    assert "argument 1 is not JSON-serialisable (set" in refused[3]
    assert "keyword argument 'when' is not JSON-serialisable (object" in refused[4]
    done_line(proc, request_id)
    assert marks(api) == ["written-down"]
