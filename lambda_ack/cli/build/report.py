"""What a build says as it goes, under the name the user typed (`lambda-ack build`, or this
repository's `./build.sh`)."""

from __future__ import annotations

program = "lambda-ack build"


def say(message: str) -> None:
    print(f"{program}: {message}", flush=True)
