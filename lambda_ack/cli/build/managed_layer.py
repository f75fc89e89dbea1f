"""`lambda-ack build --managed-layer` (and `./build.sh --managed-layer`): the layer that gives a
function on AWS's managed Python runtime (python3.12, python3.13) `from runtime import defer` and
`@runtime.deferrable`.

Only the runtime's two packages (less the command line and the test helpers), under `python/`
(where Lambda's Python runtimes look in a layer: /opt/python): they import nothing outside the
standard library until a Slack or Bolt feature is used, and those features bring their own
dependencies (slack_sdk, slack_bolt) in the function's own zip. Sources only: the managed
runtime's interpreter compiles them at init.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lambda_ack.cli.build.function import runtime_into
from lambda_ack.cli.build.zips import write_zip


def build_managed_layer(out: Path) -> tuple[Path, int, int, str]:
    dest = out / "runtime-layer.zip"
    dest.unlink(missing_ok=True)
    stage = out / "stage-managed-layer"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        runtime_into(stage / "python")
        return write_zip(stage, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
