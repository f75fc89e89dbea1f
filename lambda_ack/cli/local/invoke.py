"""Sending one invoke to a local Lambda endpoint (RIE or the emulator), as a caller would.

Both endpoints speak the Lambda Invoke API path, so one client serves both and the timing a user
sees is measured the same way.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


@dataclass
class InvokeResult:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    elapsed_ms: float = 0.0  # request sent → whole answer read, as the caller saw it

    def json(self):
        return json.loads(self.body)

    @property
    def function_error(self) -> str | None:
        """The X-Amz-Function-Error header: set when the invocation failed."""
        return self.headers.get("x-amz-function-error")


def invoke(
    address: str,
    event: bytes | str | object,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> InvokeResult:
    """POST `event` (bytes and str as they are, anything else as JSON) to `address` (host:port)."""
    if isinstance(event, bytes):
        body = event
    elif isinstance(event, str):
        body = event.encode()
    else:
        body = json.dumps(event).encode()
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request("POST", INVOKE_PATH, body, headers or {})
        response = conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return InvokeResult(
            response.status,
            data,
            {k.lower(): v for k, v in response.getheaders()},
            elapsed,
        )
    finally:
        conn.close()


def wait_for_endpoint(address: str, timeout: float) -> bool:
    """True once something accepts connections at `address`: a server started a moment ago in
    the same shell script may still be coming up."""
    import socket

    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)  # polling a port that is not open yet, bounded by the deadline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("event_file", nargs="?", help="a JSON event file, or - for stdin")
    what.add_argument(
        "--slack-command",
        metavar='"/CMD TEXT"',
        help="send a Slack slash command as a Function URL event, signed now with "
        "$SLACK_SIGNING_SECRET (a signed request goes stale after 5 minutes, so it is made fresh "
        "each time); its response_url is a stand-in here that prints what the function posts",
    )
    what.add_argument(
        "--url",
        metavar="PATH",
        help="GET PATH (e.g. '/report?days=3') from the emulator as a Function URL request; "
        "a streamed answer is printed as it arrives",
    )
    parser.add_argument("--port", type=int, default=9000, help="the invoke port")
    parser.add_argument(
        "--follow-up", type=float, default=10.0, help="seconds to wait for a post to response_url"
    )


def run(args: argparse.Namespace) -> int:
    address = f"127.0.0.1:{args.port}"
    if args.slack_command is not None:
        return _slack_command(args.slack_command, address, args.follow_up)
    if args.url is not None:
        return _get_url(address, args.url)
    if args.event_file == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(args.event_file).read_bytes()
        except OSError as e:
            sys.exit(f"invoke: cannot read the event file {args.event_file}: {e.strerror}")
    return _send(address, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev invoke",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


DESCRIPTION = (
    "Send one event to a local Lambda (the emulator or RIE) and print the answer: HTTP status and "
    "time on stderr, the body on stdout."
)


def _wait_for(address: str) -> None:

    if not wait_for_endpoint(address, timeout=10.0):
        sys.exit(
            f"invoke: nothing is listening on {address}; start a function first "
            "(./dev rie run HANDLER or ./dev emulate HANDLER) or give its --port"
        )


def _get_url(address: str, path: str) -> int:
    """The Function URL way: status and headers on stderr, the body copied out chunk by chunk."""

    if not path.startswith("/"):
        sys.exit(f"invoke: --url takes a path starting with '/', got {path!r}")
    _wait_for(address)
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        print(f"HTTP {response.status}", file=sys.stderr)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "date", "server"):
                print(f"{name}: {value}", file=sys.stderr)
        try:
            while chunk := response.read1(65536):
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        except http.client.IncompleteRead as e:
            sys.stdout.buffer.write(e.partial)
            print("\n(the stream was cut off: the function failed mid-stream)", file=sys.stderr)
            return 1
    finally:
        conn.close()
    return 0 if response.status < 400 else 1


def _send(address: str, body: bytes, headers: dict[str, str] | None = None) -> int:

    _wait_for(address)
    result = invoke(address, body, headers)
    print(f"HTTP {result.status} in {result.elapsed_ms:.1f} ms", file=sys.stderr)
    if result.function_error:
        print(f"X-Amz-Function-Error: {result.function_error}", file=sys.stderr)
    print(result.body.decode("utf-8", "replace"), flush=True)
    return 0 if result.status == 200 and not result.function_error else 1


def _slack_command(line: str, address: str, follow_up_s: float) -> int:
    from lambda_ack.cli.local.loopback import LoopbackServer
    from lambda_ack.cli.local.slack_request import slash_command_event

    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not secret:
        sys.exit(
            "invoke: --slack-command signs with $SLACK_SIGNING_SECRET, which is not set; export "
            "the same value the function was started with"
        )
    command, _, text = line.strip().partition(" ")
    if not command.startswith("/"):
        sys.exit(f"invoke: a slash command starts with '/', got {command!r}")
    with LoopbackServer() as slack:
        event = slash_command_event(
            text, f"{slack.url}/response_url", secret=secret, command=command
        )
        status = _send(address, json.dumps(event).encode())
        if follow_up_s > 0:
            try:
                posted = slack.wait_for("/response_url", timeout=follow_up_s)
            except TimeoutError:
                print(f"(nothing posted to response_url within {follow_up_s:g} s)", file=sys.stderr)
            else:
                print(f"response_url <- {posted.body.decode('utf-8', 'replace')}", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
