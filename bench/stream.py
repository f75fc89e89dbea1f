"""What streaming costs and gives: `.venv/bin/python bench/stream.py [--runs 200] [--mib 100]`.

On `lambda_ack.cli.local.emulator` (RIE hands a stream over whole), warm, the caller on loopback:
- time to first byte of a handler that streams one chunk at once, through InvokeWithResponseStream
  and through the Function URL path, against the buffered answer of a handler that returns the
  same value (the Invoke API, whole answer read): median and p90 over `--runs`;
- a `--mib` MiB stream in 1 MiB chunks read by the caller as it comes: throughput, and how much
  the runtime process's peak RSS (VmHWM) grew while it streamed.
awslambdaric has no streaming, so there is no column for it here.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambda_ack.cli.local.emulator import Emulator  # noqa: E402
from lambda_ack.cli.local.invoke import INVOKE_PATH  # noqa: E402

HANDLERS = ROOT / "tests" / "emulator_handlers"
STREAM_PATH = "/2021-11-15/functions/function/response-streaming-invocations"


def first_byte_ms(address: str, path: str, body: bytes, whole: bool) -> float:
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        started = time.perf_counter()
        conn.request("POST", path, body)
        response = conn.getresponse()
        if whole:
            response.read()
        else:
            response.read1(65536)
        elapsed = (time.perf_counter() - started) * 1000
        response.read()
        return elapsed
    finally:
        conn.close()


def ttfb(handler: str, path: str, runs: int, whole: bool) -> list[float]:
    with Emulator(handler, HANDLERS, timeline=None) as function:
        first_byte_ms(function.invoke_address, path, b"{}", whole)  # the cold start
        samples = []
        for _ in range(runs):
            samples.append(first_byte_ms(function.invoke_address, path, b"{}", whole))
            function.wait_idle()
        return samples


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def throughput(mib: int) -> tuple[float, float, int]:
    """(seconds, MiB/s, runtime peak RSS growth in KiB) for one `mib` MiB stream."""
    with Emulator("streaming.sized", HANDLERS, timeline=None) as function:
        function.invoke({"mib": 1})  # warm: imports done, the first stream's buffers made
        function.wait_idle()
        before = vm_hwm_kib(function.runtime_pid)
        host, port = function.invoke_address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        started = time.perf_counter()
        conn.request("POST", f"/?mib={mib}", b"")
        response = conn.getresponse()
        got = 0
        while chunk := response.read1(1 << 20):
            got += len(chunk)
        seconds = time.perf_counter() - started
        function.wait_idle()
        grown = vm_hwm_kib(function.runtime_pid) - before
        assert got == mib << 20, got
        return seconds, mib / seconds, grown


def summary(samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"median {statistics.median(samples):6.2f} ms   p90 {p90:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--mib", type=int, default=100)
    args = parser.parse_args()
    buffered = ttfb("handlers.echo", INVOKE_PATH, args.runs, whole=True)
    streamed = ttfb("streaming.one_chunk", STREAM_PATH, args.runs, whole=False)
    url = ttfb("streaming.one_chunk", "/", args.runs, whole=False)
    print(f"buffered answer, whole (Invoke API)       {summary(buffered)}")
    print(f"streamed, first byte (ResponseStream API) {summary(streamed)}")
    print(f"streamed, first byte (Function URL path)  {summary(url)}")
    gap = statistics.median(streamed) - statistics.median(buffered)
    print(f"first byte streamed - buffered answer:    {gap:+.2f} ms (target: within 1 ms)")
    seconds, rate, grown = throughput(args.mib)
    print(
        f"{args.mib} MiB stream, 1 MiB chunks:            {seconds:.2f} s, {rate:.0f} MiB/s; "
        f"runtime peak RSS grew {grown / 1024:.1f} MiB"
    )
    print(json.dumps({"gap_ms": round(gap, 2), "mib_per_s": round(rate), "rss_growth_kib": grown}))


if __name__ == "__main__":
    main()
