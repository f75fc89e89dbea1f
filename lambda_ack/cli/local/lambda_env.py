"""The environment Lambda gives a runtime, for every local way of starting one.

The caller's own Lambda and AWS variables are left out, so what a developer's shell happens to
export (or a runtime started from inside another runtime) cannot change what a run sees.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def lambda_env(task_root: str | Path, extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """`extra` wins over every default; a None in it removes the variable. Python: the caller's
    LAMBDA_RUNTIME_PYTHON, else this interpreter, so a local run uses the venv that holds the
    dependencies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN"))
    }
    env.update(
        LAMBDA_TASK_ROOT=str(Path(task_root).resolve()),
        LAMBDA_RUNTIME_PYTHON=os.environ.get("LAMBDA_RUNTIME_PYTHON") or sys.executable,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME="function",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/function",
        AWS_LAMBDA_LOG_STREAM_NAME=f"{time.strftime('%Y/%m/%d')}/[$LATEST]local",
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
    )
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
