"""How the runtime reacts to each kind of Runtime API answer (scripted; RIE cannot produce them)."""

from test_loop import until_next

pytest_plugins = ["fake_api"]


def test_500_on_next_ends_the_process(runtime):
    api, proc = runtime("basic.echo")
    api.script("next", (500, b'{"errorMessage":"broken"}'))
    assert proc.wait_exit() == 1
    assert "exiting: /next answered 500" in proc.output


def test_500_on_response_ends_the_process(runtime):
    api, proc = runtime("basic.echo")
    api.script("response", (500, b"{}"))
    api.push({})
    assert proc.wait_exit() == 1
    assert "exiting: /response answered 500" in proc.output


def test_403_and_410_on_response_are_logged_and_the_loop_goes_on(runtime):
    api, proc = runtime("basic.with_callbacks")
    api.script("response", (403, b'{"errorType":"InvalidStateTransition"}'), (410, b"gone"))
    first, second, third = api.push({}), api.push({}), api.push({})
    api.wait_for(until_next(4))
    output = proc.wait_output(f"\t{third}\tinvocation done")
    assert f"refused /response for {first}: HTTP 403" in output
    assert f"refused /response for {second}: HTTP 410" in output
    # The caller did not get the acknowledgement, so its callbacks are discarded, visibly.
    assert "discarded: the Runtime API refused the response (HTTP 403)" in output
    assert api.paths().count("/mark/first") == 1  # only the third invocation's callbacks ran


def test_413_on_response_becomes_an_error_and_the_process_lives(runtime):
    api, proc = runtime("basic.echo")
    api.script("response", (413, b'{"errorType":"RequestEntityTooLarge"}'))
    first = api.push({})
    error = api.wait_for(lambda rs: next((r for r in rs if r.path.endswith(f"{first}/error")), 0))
    assert error.json()["errorType"] == "Function.ResponseSizeTooLarge"
    second = api.push({"again": 1})
    assert api.outcome(second).json()["event"] == {"again": 1}
    assert proc.proc.poll() is None


def test_4xx_on_next_is_retried_with_pauses_then_the_process_exits(runtime):
    api, proc = runtime("basic.echo")
    api.script("next", *[(400, b"bad")] * 5)
    assert proc.wait_exit() == 1
    assert "giving up after 5 attempts: HTTP 400 from /next" in proc.output
    assert api.paths() == ["/invocation/next"] * 5  # bounded: no busy loop


def test_event_without_request_id_is_not_served(runtime):
    api, proc = runtime("basic.echo")
    api.push({}, headers={"Lambda-Runtime-Aws-Request-Id": None})
    fine = api.push({"ok": 1})
    assert api.outcome(fine).json()["event"] == {"ok": 1}
    # Logged before the good event was served; the reader thread may still be on its way to it.
    proc.wait_output("an event without Lambda-Runtime-Aws-Request-Id; retrying")


def test_malformed_deadline_is_logged_and_a_default_is_assumed(runtime):
    api, proc = runtime("basic.context_facts")
    request_id = api.push({}, headers={"Lambda-Runtime-Deadline-Ms": "soon"})
    facts = api.outcome(request_id).json()
    assert 0 < facts["remaining_ms"] <= 3000
    proc.wait_output(
        "Lambda-Runtime-Deadline-Ms is malformed ('soon'); assuming a 3000 ms deadline"
    )
