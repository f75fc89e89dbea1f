"""A durable function runs unchanged on this runtime, and the runtime adds nothing to it.

End to end with real parts: the durable execution SDK's own local runner (`dex-local-runner`
from its testing package, pinned for development) plays Lambda's durable service and its
checkpoint API on loopback, and invokes the function through the Invoke API of the real RIE,
which runs `./bootstrap`. The function's SDK reaches the runner's checkpoint API as boto3's
Lambda endpoint (`AWS_ENDPOINT_URL_LAMBDA`). `--skip-time` makes the durable wait instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from lambda_ack.cli.local.ports import free_port
from lambda_ack.cli.local.rie import RIE

DURABLE_HANDLERS = Path(__file__).resolve().parent / "durable_handlers"
FUNCTION = "function"  # the one name RIE's Invoke API answers to
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-west-2",
    "AWS_DEFAULT_REGION": "us-west-2",
}


class LocalRunner:
    """`dex-local-runner start-server` on loopback, invoking the function under `rie`."""

    def __init__(self, rie: RIE, url: str) -> None:
        self.url = url
        port = url.rsplit(":", 1)[1]
        durable_config = {"ExecutionTimeout": 60, "RetentionPeriodInDays": 1}
        configs = {FUNCTION: {"DurableConfig": durable_config}}
        self._proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dex-local-runner")),
                "start-server",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--lambda-endpoint",
                f"http://{rie.invoke_address}",
                "--local-runner-endpoint",
                url,
                "--local-runner-region",
                CREDENTIALS["AWS_REGION"],
                "--function-configs",
                json.dumps(configs),
                "--skip-time",
            ],
            env={**os.environ, **CREDENTIALS},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in self._proc.stdout:  # it says so once it listens
            if "Server started successfully" in line:
                break
        else:
            raise AssertionError(f"dex-local-runner exited: {self._proc.wait()}")

    def start(self, payload: dict) -> str:
        """StartDurableExecution, as the runner's own `invoke` command sends it; the ARN."""
        body = {
            "AccountId": "123456789012",
            "FunctionName": FUNCTION,
            "FunctionQualifier": "$LATEST",
            "ExecutionName": f"order-{uuid.uuid4().hex[:8]}",
            "ExecutionTimeoutSeconds": 60,
            "ExecutionRetentionPeriodDays": 1,
            "InvocationId": str(uuid.uuid4()),
            "Input": json.dumps(payload),
        }
        request = urllib.request.Request(
            f"{self.url}/start-durable-execution",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["ExecutionArn"]

    def wait_ended(self, arn: str, timeout: float = 60.0) -> dict:
        import boto3

        client = boto3.client("lambda", endpoint_url=self.url, **_boto3_credentials())
        until = time.monotonic() + timeout
        while True:
            execution = client.get_durable_execution(DurableExecutionArn=arn)
            if execution["Status"] not in ("RUNNING", "PENDING"):
                return execution
            if time.monotonic() > until:
                raise AssertionError(f"still {execution['Status']} after {timeout} s")
            time.sleep(0.1)  # polling the service, as a caller of GetDurableExecution does

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)
        self._proc.stdout.close()


def _boto3_credentials() -> dict:
    return {
        "region_name": CREDENTIALS["AWS_REGION"],
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One execution, to its end: (the execution, RIE's output, the charge step's attempts)."""
    attempts = tmp_path_factory.mktemp("durable") / "charge-attempts"
    url = f"http://127.0.0.1:{free_port()}"
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL_LAMBDA": url, "CHARGE_ATTEMPTS": str(attempts)}
    with RIE("order.handler", DURABLE_HANDLERS, env=env, log_level="info") as rie:
        runner = LocalRunner(rie, url)
        try:
            execution = runner.wait_ended(runner.start({"name": "ann"}))
        finally:
            runner.close()
        return execution, rie.output, attempts.read_text()


def test_a_durable_function_runs_to_success_with_a_retried_step(ran):
    execution, output, attempts = ran
    assert execution["Status"] == "SUCCEEDED", f"{execution}\n{output}"
    result = json.loads(execution["Result"])
    assert result["greeting"] == "hello ann"
    assert result["charged"] == "charged on attempt 2"  # the first failed; the service retried
    assert attempts == "2"
    # Several invocations (the wait and the retry each end one); the runtime answered each with
    # the handler's own result, and nothing ran after it: no guard's answer, no callback.
    done = [line for line in output.splitlines() if "invocation done" in line]
    assert len(done) >= 2, output
    assert all("ack_source=return" in line and "callbacks_run=0" in line for line in done)
    assert "ack guard" not in output


def test_in_a_durable_execution_ack_and_defer_are_refused_with_what_to_do(ran):
    execution, output, _ = ran
    refused = json.loads(execution["Result"])["refused"]
    assert "ack() cannot be used in a durable execution" in refused["ack"]
    assert "return the result instead" in refused["ack"]
    for call in ("defer", "durable defer"):
        assert "defer() cannot be used in a durable execution" in refused[call]
        assert "context.step" in refused[call]
    assert "handed off" not in output
