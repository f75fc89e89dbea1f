"""`lambda-ack build` (and this repository's `./build.sh`): a function for provided.al2023.

provided.al2023 has no Python, so a deployment is two parts:

- `dist/function.zip`, unpacked by Lambda in /var/task: `bootstrap`, the code, and `vendor/` with
  the requirements and the runtime (`lambda_ack.cli.build.function`);
- `dist/python-layer.zip`, unpacked in /opt: `python/` from a python-build-standalone
  `install_only_stripped` archive, found in the table of releases and downloaded once, or given
  (`lambda_ack.cli.build.interpreter`, `lambda_ack.cli.build.standalone`).

With `--image`, the same function goes to `dist/image/` instead, laid out as a provided.al2023
image wants it (`var/runtime/` with `bootstrap` and `vendor/`, `var/task/` with the code), for a
Dockerfile's `COPY dist/image/ /`; the image's Python comes from its own package manager.

Bytecode is compiled for the target by an interpreter of its version (the layer's own, when it
runs here), with unchecked hashes: /var/task is read-only, so Python could never replace a stale
`.pyc`. Both zips are reproducible (`lambda_ack.cli.build.zips`), so the same tree gives the same
sha256 and an unchanged deployment can be recognised by its hash.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lambda_ack.cli.build import function, interpreter, standalone
from lambda_ack.cli.build.report import say
from lambda_ack.cli.build.target import Target
from lambda_ack.cli.build.zips import UNZIPPED_LIMIT, mb, shown, size_of, write_zip
from lambda_ack.cli.errors import CommandError

OUTPUTS = ("function.zip", "python-layer.zip", "image")


@dataclass
class Plan:
    """What to build: for whom, from what, and where to put it."""

    target: Target
    code: list[tuple[Path, str]]  # (source, name at the function's root)
    strict: list[str]  # names of `code` whose files must compile (the user's own)
    requirements: list[Path]
    out: Path
    archive: tuple[str, str] | None = None  # (path or URL, sha256) given by hand
    layer: bool = True  # with no archive given: the table's, downloaded
    compile_with: str | None = None
    image: bool = False
    handler: str = ""  # for the closing hint
    hints: list[str] = field(default_factory=list)


def clear(out: Path) -> None:
    """Whatever happens next, no output of an earlier build stays where this one's would be:
    after a failed build (say an x86_64 one), an old arm64 zip would look like its result."""
    for previous in OUTPUTS:
        path = out / previous
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def build(plan: Plan) -> None:
    out = plan.out.resolve()
    clear(out)
    stage = out / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        layer = stage / "layer"
        if plan.image:
            runtime_root, code_root = stage / "image/var/runtime", stage / "image/var/task"
        else:
            runtime_root = code_root = stage / "function"
        layer_built = _layer(plan, layer, out) if not plan.image else False

        shown_files = ", ".join(shown(r) for r in plan.requirements) or "no requirements"
        say(f"vendoring {shown_files} for {plan.target}")
        function.vendor(plan.requirements, runtime_root / "vendor", plan.target)
        function.runtime_into(runtime_root / "vendor")
        function.bootstrap_into(runtime_root)
        function.code_into(plan.code, code_root)
        unzipped = size_of(runtime_root) + (size_of(layer) if layer_built else 0)
        if not plan.image and unzipped > UNZIPPED_LIMIT:
            raise CommandError(
                f"the function{' and its Python layer' if layer_built else ''} come to "
                f"{mb(unzipped)} unzipped: over Lambda's {mb(UNZIPPED_LIMIT)} limit"
            )
        _bytecode(plan, layer if layer_built else None, runtime_root, code_root)

        outputs = []
        if plan.image:
            shutil.move(stage / "image", out / "image")
        else:
            outputs.append(write_zip(code_root, out / "function.zip"))
            if layer_built:
                outputs.append(write_zip(layer, out / "python-layer.zip"))
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # a failed build leaves no half of itself
    for path, zipped, size, digest in outputs:
        print(f"{shown(path)}: {mb(zipped)} zipped, {mb(size)} unzipped, sha256 {digest}")
    if plan.image:
        print(
            f"{shown(out / 'image')}/: var/runtime (bootstrap, the runtime, the dependencies) "
            f"and var/task (the code), for `COPY {shown(out / 'image')}/ /` in a provided.al2023 "
            f"image with Python {plan.target.version} ({mb(size_of(out / 'image'))})"
        )
    for hint in plan.hints:
        say(hint)
    if not plan.image and not layer_built:
        say(
            "no interpreter layer was built (--no-layer, and no --python-archive given), so "
            f"{shown(out / 'function.zip')} alone does not run on provided.al2023 (it has no "
            f"Python). For a complete deployment, add a layer that puts Python "
            f"{plan.target.version} at /opt/python/bin/python3: `lambda-ack build` makes it "
            f"from {standalone.described()} (downloaded once), or give --python-archive "
            f"cpython-{plan.target.version}.<patch>+<date>-{plan.target.triple}-"
            "install_only_stripped.tar.gz (path or URL) and --python-sha256 <its sha256>."
        )


def _layer(plan: Plan, layer: Path, out: Path) -> bool:
    """The interpreter layer's tree, from the archive given or the table's; False with none."""
    if plan.archive is not None:
        source, sha256 = plan.archive
        archive = interpreter.fetch(source, sha256.lower(), out / "downloads")
    elif plan.layer:
        archive = standalone.interpreter_archive(plan.target)
    else:
        return False
    interpreter.unpack_interpreter(archive, layer, plan.target)
    interpreter.prune_interpreter(layer / "python", plan.target)
    return True


def _bytecode(plan: Plan, layer: Path | None, runtime_root: Path, code_root: Path) -> None:
    target = plan.target
    compiler = interpreter.compiler(plan.compile_with, layer, target)
    strict = tuple(code_root / name for name in plan.strict)
    if compiler is None:
        for folder in strict:
            interpreter.check_syntax(folder, target)
        say(
            f"no Python {target.version} here to precompile with, so no bytecode was written (the "
            f"code's syntax was checked with this build's Python {interpreter.running_version()}):"
            " the function ships sources only, and every cold start compiles what it imports "
            "(/var/task is read-only), about 100 ms more for requests and slack_sdk. Pass "
            f"--compile-with /path/to/python{target.version} to precompile."
        )
        return
    if plan.image:
        interpreter.precompile(compiler, runtime_root, "/var/runtime", strict=())
        interpreter.precompile(compiler, code_root, "/var/task", strict=strict)
    else:
        interpreter.precompile(compiler, code_root, "/var/task", strict=strict)
    if layer is not None:
        interpreter.precompile(compiler, layer / "python" / "lib", "/opt/python/lib", strict=())
    say(f"bytecode precompiled with {compiler} (unchecked-hash)")
