"""Where an invocation's CPU goes inside the runtime: `python bench/profile_serve.py [--profile]`.

`serve_one`, the whole of one invocation in the runtime (the event decoded, the handler called,
the answer encoded and posted, the deferred phase, the timeline line), in process, against a
Runtime API stand-in that answers at once without a network, so what is timed is the runtime's
own work and nothing of the kernel's or the peer's. The handler is the benchmark's
(bench/task/bench_handler.py, a small dict back). Median of 9 rounds of 20,000 invocations
(µs each); `--profile` adds a cProfile of one round, by own time. The process is set up as
`bootstrap` sets it up (text logs to a file, not the terminal).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "task"))

EVENT = b'{"body": "' + b"x" * 88 + b'"}'  # 100 bytes, as the benchmark's


def instant_api():
    """The Runtime API's answers, without a Runtime API: every post accepted."""
    from lambda_ack.api import RuntimeAPI

    class InstantAPI(RuntimeAPI):
        def post_response(self, invocation, body: bytes, content_type: str = "") -> int:
            return 202

        def post_error(self, invocation, payload, error_type: str, xray_cause: str = "") -> int:
            return 202

    return InstantAPI("127.0.0.1:9")


def invocation(n: int):
    from lambda_ack.api import Invocation

    return Invocation(
        {
            "lambda-runtime-aws-request-id": f"req-{n}",
            "lambda-runtime-deadline-ms": str(int(time.time() * 1000) + 30_000),
            "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:1:function:f",
            "lambda-runtime-trace-id": f"Root=1-{n:08x}-0123456789abcdef01234567;Sampled=0",
        },
        EVENT,
    )


def round_us(handler, count: int) -> float:
    from lambda_ack.loop import serve_one

    api = instant_api()
    events = [invocation(n) for n in range(count)]
    started = time.perf_counter()
    for event in events:
        serve_one(api, handler, event, 500, False)
    return (time.perf_counter() - started) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--count", type=int, default=20_000)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "bench")
    from contextlib import redirect_stdout

    from lambda_ack import logs

    # The timeline lines go to a file, as in the benchmark: to /dev/null here.
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        logs.setup(None, None)
        from bench_handler import handler

        rounds = [round_us(handler, args.count) for _ in range(args.rounds)]
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.runcall(round_us, handler, args.count)
    print(f"serve_one: {statistics.median(rounds):.2f} µs (min {min(rounds):.2f})")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
