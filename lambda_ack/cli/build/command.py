"""The build's options, as `lambda-ack build` and this repository's `./build.sh` take them.

In a project (`lambda_ack.cli.project`) the code, handler, Python version, architecture and
requirements come from its `[tool.lambda-ack]` table, and the options override them. With
`--handler-dir DIR` no project is needed: DIR is zipped under its own name (what `./build.sh`
does with the repository's example).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from lambda_ack.cli.build import Plan, build, clear, report, standalone
from lambda_ack.cli.build.target import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_VERSION, Target
from lambda_ack.cli.errors import CommandError
from lambda_ack.cli.paths import CHECKOUT, FACADE, PACKAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", help=f"{' or '.join(ARCHITECTURES)} (default {DEFAULT_ARCH})")
    parser.add_argument("--python-version", help=f"the target Python (default {DEFAULT_VERSION})")
    parser.add_argument(
        "--handler-dir",
        metavar="DIR",
        help="no project: zip DIR under its own name (_HANDLER=DIR/module.function)",
    )
    parser.add_argument(
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="more dependencies to vendor, pinned with hashes (pip-compile --generate-hashes); "
        "may be repeated",
    )
    parser.add_argument(
        "--python-archive",
        metavar="PATH_OR_URL",
        help="a python-build-standalone install_only_stripped .tar.gz for the target, instead of "
        "the table's (a machine without internet)",
    )
    parser.add_argument("--python-sha256", metavar="HEX", help="sha256 of --python-archive")
    parser.add_argument(
        "--no-layer", action="store_true", help="the function zip only, no interpreter layer"
    )
    parser.add_argument(
        "--image",
        action="store_true",
        help="dist/image/ for a provided.al2023 container image (COPY dist/image/ /) instead "
        "of the zips",
    )
    parser.add_argument(
        "--compile-with",
        metavar="PYTHON",
        help="interpreter of the target's version to precompile bytecode with "
        "(default: the layer's own when it runs here, else pythonX.Y on PATH)",
    )
    parser.add_argument("--out", help="output folder (default: the project's dist/)")
    parser.add_argument(
        "--managed-layer",
        action="store_true",
        help="build only dist/runtime-layer.zip: `from runtime import defer` for a function on "
        "AWS's managed python3.12/3.13 runtime (with @runtime.deferrable on its handler)",
    )


def epilog() -> str:
    return f"The interpreter layer comes from {standalone.described()}, downloaded once per user."


def run(args: argparse.Namespace) -> None:
    if bool(args.python_archive) != bool(args.python_sha256):
        raise CommandError("--python-archive and --python-sha256 go together")
    if args.managed_layer:
        from lambda_ack.cli.build.managed_layer import build_managed_layer
        from lambda_ack.cli.build.zips import mb, shown

        out = Path(args.out or "dist").resolve()
        out.mkdir(parents=True, exist_ok=True)
        path, zipped, size, digest = build_managed_layer(out)
        print(f"{shown(path)}: {mb(zipped)} zipped, {mb(size)} unzipped, sha256 {digest}")
        return
    if args.handler_dir:
        out = Path(args.out or "dist")
        clear(out.resolve())
        extra = [_existing_file(name) for name in args.requirements]
        folder = _handler_dir(Path(args.handler_dir))
        target = Target(args.arch or DEFAULT_ARCH, args.python_version or DEFAULT_VERSION)
        code, requirements = [(folder, folder.name)], extra
        defined = ", ".join(_handler_names(folder)) or "none"
        hint = (
            f"the handler is {folder.name}/<module>.<function>; in this folder `handler` is "
            f"defined by: {defined}. Deploy with _HANDLER set to it (template.yaml: sam deploy "
            "--parameter-overrides Handler=...)."
        )
    else:
        from lambda_ack.cli import project as projects

        project = projects.find()
        out = Path(args.out) if args.out else project.root / "dist"
        clear(out.resolve())
        extra = [_existing_file(name) for name in args.requirements]
        target = Target(
            args.arch or project.architecture, args.python_version or project.python_version
        )
        code = [(path, path.name) for path in project.code()]
        requirements = [*project.requirements, *extra]
        hint = f"the handler is {project.handler} ([tool.lambda-ack] handler)"
    plan = Plan(
        target=target,
        code=code,
        strict=[name for _, name in code],
        requirements=requirements,
        out=out,
        archive=(args.python_archive, args.python_sha256) if args.python_archive else None,
        layer=not args.no_layer,
        compile_with=args.compile_with,
        image=args.image,
        hints=[hint],
    )
    build(plan)


def main(argv: list[str] | None = None, program: str = "build.sh") -> int:
    """`./build.sh`: the same build, under its own name."""
    report.program = program
    parser = argparse.ArgumentParser(
        prog=program,
        description="Build dist/function.zip and dist/python-layer.zip for provided.al2023.",
        epilog=epilog(),
    )
    add_arguments(parser)
    try:
        run(parser.parse_args(argv))
    except CommandError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _existing_file(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"requirements file {name} does not exist")
    return path.resolve()


def _handler_dir(path: Path) -> Path:
    if not path.is_dir():
        raise CommandError(f"handler folder {path} does not exist or is not a folder")
    path = path.resolve()
    if path in (PACKAGE, FACADE, CHECKOUT) or path.name in ("bootstrap", "lambda_ack", "vendor"):
        raise CommandError(
            f"handler folder {path} cannot be zipped as {path.name}/: that name is the "
            "runtime's own; move the code into a folder of its own"
        )
    if not any(path.rglob("*.py")):
        raise CommandError(f"handler folder {path} has no Python file")
    return path


def _handler_names(tree: Path) -> list[str]:
    """`folder/module.handler` for each module of the handler folder that defines `handler`."""
    names = []
    for path in sorted(tree.rglob("*.py")):
        if re.search(rb"^(async )?def handler\b|^handler\s*=", path.read_bytes(), re.M):
            module = path.relative_to(tree).with_suffix("").as_posix()
            names.append(f"{tree.name}/{module}.handler")
    return names
