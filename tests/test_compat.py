"""What a handler written for the managed Python runtime relies on: context, env, logs, headers."""

import json

import pytest
from fake_api import FUNCTION_ARN, HANDLERS

pytest_plugins = ["fake_api"]


def test_context_carries_every_managed_runtime_attribute(runtime):
    api, _ = runtime("basic.context_facts")
    client_context = {
        "custom": {"k": "v"},
        "env": {"e": "1"},
        "client": {"app_title": "demo"},
        "w3c": {"traceparent": "00-4bf9-00f0-01", "tracestate": "k=v", "baggage": 5, "x": "y"},
    }
    request_id = api.push(
        {},
        timeout_ms=30000,
        headers={
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps(
                {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
            ),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
        },
    )
    facts = api.outcome(request_id).json()
    assert 0 < facts.pop("remaining_ms") <= 30000
    assert facts == {
        "aws_request_id": request_id,
        "function_name": "f",
        "function_version": "$LATEST",
        "memory_limit_in_mb": "128",  # a string, as on the managed runtime
        "invoked_function_arn": FUNCTION_ARN,
        "log_group_name": "/aws/lambda/f",
        "log_stream_name": "2026/11/22/[$LATEST]abc",
        "tenant_id": "tenant-7",
        "identity": ["id-1", "pool-1"],
        "client_context": {"custom": {"k": "v"}, "env": {"e": "1"}, "app_title": "demo"},
        "trace_id": f"Root=1-{request_id}",
        "sys_path0": str(HANDLERS),
        # Only the W3C fields, only strings; taken out of the client context, as there.
        "w3c": {"traceparent": "00-4bf9-00f0-01", "tracestate": "k=v"},
        "has_w3c_key": False,
    }


def test_context_without_optional_headers(runtime):
    api, _ = runtime("basic.context_facts")
    facts = api.outcome(api.push({}, headers={"Lambda-Runtime-Trace-Id": None})).json()
    assert facts["client_context"] is None
    assert facts["identity"] == [None, None]
    assert facts["tenant_id"] is None
    assert facts["w3c"] == {}
    assert facts["trace_id"] is None  # cleared, not left over from an earlier invocation


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Lambda-Runtime-Client-Context", "{nope"),
        ("Lambda-Runtime-Client-Context", "[1, 2]"),  # valid JSON, not an object
        ("Lambda-Runtime-Cognito-Identity", '"a string"'),
    ],
)
def test_malformed_client_context_is_an_error_payload(runtime, header, value):
    api, _ = runtime("basic.context_facts")
    request_id = api.push({}, headers={header: value})
    payload = api.outcome(request_id).json()
    assert payload["errorType"] == "Runtime.LambdaContextUnmarshalError"
    what = "Client Context" if "Client" in header else "Cognito Identity"
    assert payload["errorMessage"].startswith(f"Unable to parse {what} JSON:")


def test_invocation_id_is_echoed_only_when_present(runtime):
    api, _ = runtime("basic.echo")
    with_id = api.push({}, headers={"Lambda-Runtime-Invocation-Id": "inv-42"})
    without = api.push({})
    assert api.outcome(with_id).headers["lambda-runtime-invocation-id"] == "inv-42"
    assert "lambda-runtime-invocation-id" not in api.outcome(without).headers

    api2, _ = runtime("basic.raising")
    failed = api2.push({}, headers={"Lambda-Runtime-Invocation-Id": "inv-43"})
    assert api2.outcome(failed).headers["lambda-runtime-invocation-id"] == "inv-43"


def test_text_logs_follow_the_managed_runtime_format(runtime):
    api, proc = runtime("basic.logs")
    request_id = api.push({})
    output = proc.wait_output("invocation done")
    lines = output.split("\n")
    warning = next(line for line in lines if "warning line" in line)
    level, timestamp, logged_id, message = warning.split("\t")
    assert (level, logged_id, message) == ("[WARNING]", request_id, "warning line")
    assert timestamp.endswith("Z") and timestamp[10] == "T" and len(timestamp) == 24
    assert "printed line" in lines
    # Root level stays WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise, as on AWS.
    assert "info line" not in output and "debug line" not in output
    caught = next(line for line in lines if "\tcaught" in line)
    assert caught.startswith("[ERROR]") and "\rTraceback" in caught and "KeyError: 'k'" in caught


def test_log_level_variable_sets_the_root_level(runtime):
    api, proc = runtime("basic.logs", AWS_LAMBDA_LOG_LEVEL="DEBUG")
    api.push({})
    output = proc.wait_output("invocation done")
    assert "[DEBUG]" in output and "debug line" in output and "info line" in output


def test_runtime_lines_obey_a_stricter_log_level(runtime):
    api, proc = runtime("basic.with_callbacks", AWS_LAMBDA_LOG_LEVEL="WARN")
    request_id = api.push({})
    api.outcome(request_id)
    api.wait_for(lambda rs: sum(r.path.endswith("/next") for r in rs) >= 2)
    assert "invocation done" not in proc.output


def test_json_logs_carry_the_managed_runtime_fields(runtime):
    api, proc = runtime("basic.logs", AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="INFO")
    request_id = api.push({})
    proc.wait_output('"invocation done')
    records = [json.loads(line) for line in proc.output.split("\n") if line.startswith("{")]
    info = next(r for r in records if r["message"] == "info line")
    assert info["level"] == "INFO" and info["logger"] == "app" and info["requestId"] == request_id
    assert info["timestamp"].endswith("Z")
    warning = next(r for r in records if r["message"] == "warning line")
    assert warning["order"] == 7 and "unset" not in warning  # `extra=` kept, None ones dropped
    structured = next(r for r in records if isinstance(r["message"], dict))
    assert structured["message"] == {"event": "structured", "count": 2}  # an object, not str()
    assert info["timestamp"][19:20] == "." and len(info["timestamp"]) == 24  # milliseconds
    assert "stackTrace" not in info and "location" not in info  # None fields left out
    caught = next(r for r in records if r["message"] == "caught")
    assert caught["errorType"] == "KeyError" and caught["errorMessage"] == "'k'"
    assert isinstance(caught["stackTrace"], list) and caught["location"].startswith(
        f"{HANDLERS}/basic.py:logs:"
    )
    done = next(r for r in records if str(r["message"]).startswith("invocation done"))
    assert done["coldStart"] is True and done["callbacks"]["run"] == 0


def test_json_error_record_for_a_failed_invocation(runtime):
    api, proc = runtime("basic.raising", AWS_LAMBDA_LOG_FORMAT="JSON")
    request_id = api.push({})
    api.outcome(request_id)
    proc.wait_output('"level": "ERROR"')
    line = next(line for line in proc.output.split("\n") if '"level": "ERROR"' in line)
    record = json.loads(line)
    assert record["errorType"] == "ValueError" and record["requestId"] == request_id


def test_a_formatter_set_on_the_runtimes_handler_still_writes_one_record_per_line(runtime):
    api, proc = runtime("basic.own_formatters")
    request_id = api.push({})
    assert api.outcome(request_id).json() == "logged"
    lines = proc.wait_output(f"{request_id}\tinvocation done").split("\n")
    assert "WARNING app first record" in lines and "WARNING app second record" in lines
    traceback_line = next(line for line in lines if line.startswith("ERROR app with a traceback"))
    assert "\rTraceback (most recent call last):\r" in traceback_line  # one event
    records = [json.loads(line) for line in lines if line.startswith('{"levelname"')]
    assert [r["message"] for r in records] == ["json one", "json two"]  # valid JSON, one each


def test_a_function_that_never_imports_logging_does_not_pay_for_it(runtime):
    """`logging` (with `traceback`, `string`, `weakref`) is a few ms of cold start."""
    api, _ = runtime("no_logging.handler", extensions=True)
    assert api.outcome(api.push({})).json() == {"logging_imported": False}


def test_a_function_that_never_defers_does_not_load_the_callback_machinery(runtime):
    """Durable hand-off, retries and the watchdog are loaded with the first callback, and
    `importlib` not at all: a capability that is not used costs nothing at start-up."""
    api, proc = runtime("unused_capabilities.handler", extensions=True)
    assert api.outcome(api.push({})).json() == []
    request_id = api.push({"defer": True})
    assert api.outcome(request_id).json() == []
    assert "deferred line" in proc.wait_output(f"{request_id}\tinvocation done")
    assert api.outcome(api.push({})).json() == [  # once a callback has run
        "lambda_ack.deferred.durable",
        "lambda_ack.deferred.retries",
        "lambda_ack.deferred.timer",
        "lambda_ack.deferred.watchdog",
    ]


def test_logging_first_imported_during_an_invocation_is_set_up_as_at_init(runtime):
    api, proc = runtime("no_logging.imports_logging_late", AWS_LAMBDA_LOG_LEVEL="INFO")
    request_id = api.push({})
    assert api.outcome(request_id).json() == ["StdoutHandler"]
    lines = proc.wait_output(f"{request_id}\tinvocation done").split("\n")
    warning = next(line for line in lines if line.endswith("late warning line"))
    assert warning.startswith("[WARNING]\t") and f"\t{request_id}\t" in warning
    assert any(line.endswith(f"\t{request_id}\tlate info line") for line in lines)


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_the_runtimes_own_lines_need_no_logging_imported_before(runtime, log_format):
    api, proc = runtime("no_logging.callback_fails", AWS_LAMBDA_LOG_FORMAT=log_format)
    request_id = api.push({})
    assert api.outcome(request_id).json() == {"logging_imported": False}
    output = proc.wait_output("invocation done")
    lines = [line for line in output.split("\n") if request_id in line]
    failure = next(line for line in lines if "deferred callback fails failed" in line)
    done = next(line for line in lines if "invocation done" in line)
    if log_format == "JSON":
        assert json.loads(failure)["errorType"] == "KeyError"
        assert json.loads(done)["callbacks"]["failed"] == 1
    else:
        assert failure.startswith("[ERROR]\t") and "KeyError: 'from a callback'" in failure
        assert done.startswith("[INFO]\t") and "failed=1" in done
