"""Terraform for the tests: the binary and the hashicorp/aws provider from this machine (the
provider from a local filesystem mirror, through a CLI configuration written here: no registry,
no network), and the module applied against moto's standalone server.

The apply is started as soon as the suite's collection ends (`conftest.pytest_collection_finish`)
and runs beside the other tests: the AWS provider waits about 25 s after creating each SQS queue
for its attributes to settle, asleep, and the module makes two in a row. Terraform and moto are
both processes of their own, so the tests running meanwhile share no interpreter lock with them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

from sqs_support import CREDENTIALS

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "terraform"
# Where these machines keep the provider; TF_PROVIDER_MIRROR names another.
MIRRORS = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "~/.terraform.d/plugins")
APPLY_TEST = "tests/test_terraform.py::test_apply_against_moto"
HANDOFF_KEY = "k" * 40
# The example with every opt-in on.
APPLY_VARIABLES = {
    "slack_signing_secret": "the-signing-secret",
    "slack_bot_token": "xoxb-the-token",
    "handoff": "true",
    "handoff_key": HANDOFF_KEY,
    "dedupe": "true",
    "name": "tf-bot",
}


def missing() -> str | None:
    """What this machine lacks for the module's tests, in one line; None when nothing."""
    if shutil.which("terraform") is None:
        return "terraform is not installed: the module's tests need it on PATH"
    if _mirror() is None:
        return (
            f"no hashicorp/aws provider in a filesystem mirror ({', '.join(MIRRORS)}): install "
            "it there or set TF_PROVIDER_MIRROR"
        )
    return None


def _mirror() -> Path | None:
    for candidate in [os.environ.get("TF_PROVIDER_MIRROR", ""), *MIRRORS]:
        path = Path(candidate).expanduser()
        if candidate and any(
            path.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*")
        ):
            return path
    return None


def cli_config(folder: Path) -> Path:
    """A CLI configuration (for `TF_CLI_CONFIG_FILE`) that installs the AWS provider from the
    mirror only."""
    config = folder / "cli.tfrc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{_mirror()}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    return config


class Terraform:
    """`terraform` with the mirror as its only source of the AWS provider; its CLI
    configuration (and HOME) in `home`."""

    def __init__(self, home: Path) -> None:
        self._env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "TF_CLI_CONFIG_FILE": str(cli_config(home)),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }

    def __call__(self, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [shutil.which("terraform") or "terraform", *args, "-no-color"],
            cwd=cwd,
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"terraform {args[0]}:\n{done.stdout[-4000:]}\n{done.stderr}"
        return done


def copy_module(into: Path) -> Path:
    """The module and its examples as the repository has them, with stand-ins for the zips the
    build writes (dist/, where the example looks); the copy's root."""
    shutil.copytree(MODULE, into / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    (into / "dist").mkdir()
    for name in ("function.zip", "python-layer.zip"):
        with zipfile.ZipFile(into / "dist" / name, "w") as archive:
            archive.writestr("bootstrap", "#!/bin/sh\n")
    return into


def point_at_moto(folder: Path, url: str) -> None:
    """An override file that sends the AWS provider to moto with the test credentials."""
    services = ("lambda", "iam", "sqs", "dynamodb", "logs", "sts")
    endpoints = "\n".join(f'    {service} = "{url}"' for service in services)
    (folder / "moto_override.tf").write_text(
        'provider "aws" {\n  region = "us-east-1"\n'
        f'  access_key = "{CREDENTIALS["AWS_ACCESS_KEY_ID"]}"\n'
        f'  secret_key = "{CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}"\n'
        "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
        f"  skip_requesting_account_id = true\n  endpoints {{\n{endpoints}\n  }}\n}}\n"
    )


class MotoProcess:
    """moto's standalone server (the pinned development one) in a process of its own; it ends
    when its standard input is closed."""

    _CODE = (
        "import logging, sys; from moto.server import ThreadedMotoServer; "
        "logging.getLogger('werkzeug').setLevel(logging.WARNING); "
        "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False); s.start(); "
        "print('http://%s:%d' % s.get_host_and_port(), flush=True); sys.stdin.read(); s.stop()"
    )

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", self._CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._process.stdout.readline().strip()
        assert self.url.startswith("http://"), "moto's server did not start"

    def stop(self) -> None:
        self._process.stdin.close()
        self._process.wait(30)


class Apply:
    """The slack-example with every opt-in on, applied against a moto of its own on a thread:
    `result()` waits for it; `destroy()` undoes it; `stop()` ends what is left."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="lambda-ack-terraform-"))
        self.folder = self.home / "terraform" / "examples" / "slack-example"
        self.options = ["-input=false", "-auto-approve"]
        for name, value in APPLY_VARIABLES.items():
            self.options += ["-var", f"{name}={value}"]
        self.moto: MotoProcess | None = None
        self.applied: subprocess.CompletedProcess | None = None
        self.outputs: dict = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._apply, name="terraform-apply", daemon=True)
        self._thread.start()

    def _apply(self) -> None:
        try:
            self.moto = MotoProcess()
            self.terraform = Terraform(self.home)
            copy_module(self.home)
            point_at_moto(self.folder, self.moto.url)
            self.terraform("init", "-input=false", cwd=self.folder)
            self.applied = self.terraform("apply", *self.options, cwd=self.folder)
            self.outputs = json.loads(self.terraform("output", "-json", cwd=self.folder).stdout)
        except BaseException as e:  # the test reports it
            self._error = e

    def result(self, timeout: float = 600) -> Apply:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"terraform apply still running after {timeout} s"
        if self._error is not None:
            raise self._error
        return self

    def destroy(self) -> None:
        self.terraform("destroy", *self.options, cwd=self.folder)

    def stop(self) -> None:
        self._thread.join(600)
        if self.moto is not None:
            self.moto.stop()
        shutil.rmtree(self.home, ignore_errors=True)


_started: Apply | None = None
_lock = threading.Lock()


def start_apply() -> None:
    """The apply, started ahead of the test that reads it (at the end of collection)."""
    global _started
    with _lock:
        if _started is None:
            _started = Apply()


def take_apply() -> Apply:
    """The apply started ahead, or a new one when none was (or a repeated round took it); the
    caller stops it."""
    global _started
    with _lock:
        taken, _started = _started or Apply(), None
    return taken


def stop_apply() -> None:
    """One started ahead that no test took (the test was skipped, or the run stopped early)."""
    if _started is not None:
        _started.stop()
