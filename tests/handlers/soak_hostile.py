"""The second soak's mix: every path that once lost work or leaked a secret, many times over.

Each kind registers a known number of deferred callbacks (`REGISTERED` in tests/test_soak.py
says how many, how many fail, how many are discarded), so the test can check that every one is
accounted for in the runtime's own log lines.
"""

import asyncio
import logging
import os
import sys
import threading

from runtime import defer

log = logging.getLogger("soak")
SECRET = os.environ["SOAK_SECRET"]


def count() -> None:
    pass


def chain() -> None:
    defer(count)


async def acount() -> None:
    await asyncio.sleep(0)


async def cancelled() -> None:
    raise asyncio.CancelledError()


def handler(event, context):
    kind = event["kind"]
    if kind in ("async", "cancelled_handler", "unawaited"):
        return _async(kind)
    if kind == "sync":
        defer(count)
        defer(chain)
    elif kind == "threads":
        workers = [threading.Thread(target=_two_defers) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    elif kind == "error":
        defer(count)
        defer(count, always=True)
        raise ValueError(f"handler error {event['n']}")
    elif kind == "cancelled_callback":
        defer(cancelled)
        defer(count)
    elif kind == "secrets":
        defer(count)
        log.warning("the secret is %s", SECRET)
        print({"secret": SECRET})
        sys.stdout.write(SECRET[:4])
        sys.stdout.write(SECRET[4:] + "\n")
        log.error("%d", SECRET)  # logging's error report, on stderr
    return {"n": event["n"]}


def _two_defers() -> None:
    defer(count)
    defer(count)


async def _async(kind: str):
    if kind == "async":
        defer(acount)
        defer(count)
    elif kind == "cancelled_handler":
        defer(count)
        raise asyncio.CancelledError()
    else:
        defer(count)
        asyncio.create_task(asyncio.sleep(0), name="left-running")
    return {"kind": kind}
