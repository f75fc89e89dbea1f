"""Handlers for Managed Instances tests (several invocations at once): each says, in its own log
lines, which invocation it works for; waits happen on URLs the test holds."""

import logging
import os
import threading
import time

from handlers import call

from runtime import defer, on_shutdown

log = logging.getLogger("concurrent")


def report(n: int, what: str) -> None:
    log.warning("%s for n=%d in pid %d", what, n, os.getpid())


def work(event, context):
    """A deferred callback of `ms` milliseconds, and one deferred from a thread it starts."""
    n, ms = event["n"], event.get("ms", 0)

    def slow() -> None:
        time.sleep(ms / 1000)  # the work itself: a callback of this length
        report(n, "callback")

    defer(slow)
    helper = threading.Thread(target=defer, args=(report, n, "thread's callback"))
    helper.start()
    helper.join()
    return {"n": n, "request_id": context.aws_request_id, "pid": os.getpid()}


def held(event, context):
    """Answers at once; its deferred work waits on the test's URL."""
    defer(call, event["held_url"])
    defer(report, event.get("n", 0), "after the hold")
    return "held"


def fail(event, context):
    raise ValueError(f"failed on purpose (n={event.get('n')})")


def stuck(event, context):
    """Its handler waits on the test's URL: past the timeout while held."""
    call(event["held_url"])
    return "late"


@on_shutdown
def _hook() -> None:
    print(f"shutdown hook ran in pid {os.getpid()}", flush=True)


def exits(event, context):
    raise SystemExit(3)


def dispatch(event, context):
    """One function, several behaviours: `event["do"]` names the handler above to run."""
    handlers = {"work": work, "fail": fail, "stuck": stuck, "held": held, "exit": exits}
    return handlers[event["do"]](event, context)
