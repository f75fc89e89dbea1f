"""`lambda-ack`: the runtime in a project of your own.

    lambda-ack new DIR [--bolt]      a Slack app project: code, test, locks, SAM, Terraform, image
    lambda-ack build                 dist/function.zip and dist/python-layer.zip (or --image)
    lambda-ack emulate [HANDLER]     the function on a local Lambda that answers first (--reload)
    lambda-ack rie [HANDLER]         the function under AWS's Runtime Interface Emulator
    lambda-ack invoke [EVENT]        one event to either (--slack-command "/cmd text", --url PATH)

In a project (a pyproject.toml with a [tool.lambda-ack] table), HANDLER and the code's folder come
from it. Each command's error ends with one line that says what to do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lambda_ack import __version__
from lambda_ack.cli.errors import CommandError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prog = f"lambda-ack {args.command}"
    try:
        return args.run(args, prog) or 0
    except CommandError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    from lambda_ack.cli.build import command as build
    from lambda_ack.cli.local import emulator, invoke, rie

    parser = argparse.ArgumentParser(
        prog="lambda-ack",
        description="A Python custom runtime for AWS Lambda that answers first and keeps working "
        "after: make, test, build and run a function with it.",
    )
    parser.add_argument("--version", action="version", version=f"lambda-ack {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    new = commands.add_parser("new", help="make a Slack app project in DIR")
    new.add_argument("dir", metavar="DIR", help="a folder that does not exist yet, or is empty")
    new.add_argument("--bolt", action="store_true", help="a Bolt app instead of a SlackApp one")
    new.set_defaults(run=_new)

    made = commands.add_parser(
        "build",
        help="the function zip and the interpreter layer (or an image's files)",
        epilog=build.epilog(),
    )
    build.add_arguments(made)
    made.set_defaults(run=_build)

    local = commands.add_parser(
        "emulate", help="run the function on a local Lambda that answers first"
    )
    emulator.add_arguments(local, handler_required=False)
    local.set_defaults(run=_emulate)

    under = commands.add_parser("rie", help="run the function under AWS's RIE (downloaded once)")
    rie.add_arguments(under, handler_required=False)
    under.set_defaults(run=_rie)

    send = commands.add_parser("invoke", help="send one event to `emulate` or `rie`")
    invoke.add_arguments(send)
    send.set_defaults(run=_invoke)
    return parser


def _new(args: argparse.Namespace, prog: str) -> None:
    from lambda_ack.cli import new

    new.scaffold(Path(args.dir), bolt=args.bolt)


def _build(args: argparse.Namespace, prog: str) -> None:
    from lambda_ack.cli.build import command, report

    report.program = prog
    command.run(args)


def _in_project(args: argparse.Namespace) -> None:
    """HANDLER and the code's folder from the project, where the command line leaves them out."""
    if args.handler is not None and args.task_root is not None:
        return
    from lambda_ack.cli import project

    try:
        found = project.find()
    except CommandError:
        if args.handler is None:
            raise
        return  # a handler named outside any project: the working folder is its code
    args.handler = args.handler or found.handler
    args.task_root = args.task_root or str(found.root)


def _emulate(args: argparse.Namespace, prog: str) -> None:
    from lambda_ack.cli.local import emulator

    _in_project(args)
    emulator.run(args, prog)


def _rie(args: argparse.Namespace, prog: str) -> None:
    from lambda_ack.cli.local import rie

    _in_project(args)
    rie.run_under_rie(args, prog)


def _invoke(args: argparse.Namespace, prog: str) -> int:
    from lambda_ack.cli.local import invoke

    return invoke.run(args)


if __name__ == "__main__":
    sys.exit(main())
