"""Handlers fed hostile or unlucky input: each one once crashed the process or lost work."""

import asyncio
import contextlib
import os
import signal
import sys
import threading

from basic import mark

from runtime import defer, on_shutdown


def unknown_action(event, context):
    """An error message holding whatever the event held: a lone surrogate cannot be UTF-8."""
    defer(mark, "never")  # discarded, and logged as such
    raise ValueError("unknown action " + event["action"])


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("__str__ itself fails")


def unprintable(event, context):
    raise Unprintable()


async def cancelled(event, context):
    raise asyncio.CancelledError()


async def _cancelled_callback():
    raise asyncio.CancelledError()


def cancelled_callback(event, context):
    defer(_cancelled_callback)
    defer(mark, "after-cancelled")
    return "ack"


def with_mark(event, context):
    defer(mark, event.get("mark", "ran"))
    return "ack"


def _forever() -> None:
    threading.Event().wait()


def leaves_a_thread_then_exits(event, context):
    threading.Thread(target=_forever, daemon=False).start()
    if event.get("exit"):
        sys.exit(3)
    return "ack"


def blocks_in_handler(event, context):
    """Sits in the handler (not a callback) until the test sends SIGTERM."""
    defer(mark, "registered-first")
    mark("in-handler")
    with open(event["fifo"]) as fifo:
        fifo.read()


_hook_runs = 0


@on_shutdown
def signals_again():
    """A second SIGTERM arriving while the hooks run (Lambda's, or a user's kill)."""
    global _hook_runs
    _hook_runs += 1
    print(f"hook run {_hook_runs}", flush=True)
    if _hook_runs == 1:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # bytecode boundaries, where Python runs the signal handler
            pass


async def async_raises(event, context):
    await asyncio.sleep(0)
    raise KeyError("async handler's own error")


def leaks_every_way(event, context):
    """Each way a secret once reached the logs unmasked."""
    import json
    import logging

    pem, quoted = os.environ["MY_PEM"], os.environ["MY_QUOTED"]
    log = logging.getLogger("app")
    log.warning("the key is %s", pem)  # multi-line: \r in Text, \n escaped in JSON
    log.warning("quoted %s", quoted)  # " and \ escaped in JSON
    log.warning({"nested": quoted})  # a dict message: repr, then JSON
    print({"nested": quoted})  # repr escapes
    print(json.dumps({"nested": quoted}))  # JSON the user made
    sys.stdout.write(quoted[:6])  # one secret, two writes
    sys.stdout.write(quoted[6:] + " was split\n")
    sys.stdout.write(pem[: pem.index("\n") + 1])  # a multi-line one, split after its first line
    sys.stdout.write(pem[pem.index("\n") + 1 :] + "\n")
    log.error("%d", pem)  # formatting fails: logging reports it, arguments included, on stderr
    print("end of leaks", flush=True)
    return "ack"


async def leaves_a_task(event, context):
    """Starts tasks and returns without awaiting them: they must run in this invocation."""

    async def finishes():
        await asyncio.sleep(0)
        mark("task-finished")

    async def never_finishes():
        await asyncio.Event().wait()

    asyncio.create_task(finishes(), name="finishes")
    if event.get("stuck"):
        asyncio.create_task(never_finishes(), name="stuck-task")
    return "ack"


_resume = None


async def task_outlives_its_invocation(event, context):
    """First call: a task that ignores its cancellation and waits. Second call: let it go on;
    its defer() belongs to the first invocation, which is over, so it must be refused."""
    global _resume
    if _resume is None:
        _resume = asyncio.Event()

        async def stubborn():
            with contextlib.suppress(asyncio.CancelledError):  # ignores it
                await asyncio.sleep(3600)
            await _resume.wait()
            try:
                defer(mark, "task-defer-accepted")
            except RuntimeError:
                mark("task-defer-refused")

        asyncio.create_task(stubborn(), name="stubborn")
        return "first"
    _resume.set()
    for _ in range(10):
        await asyncio.sleep(0)
    return "second"


_thread_go = threading.Event()
_pool = None


def thread_outlives_its_invocation(event, context):
    if event.get("start"):

        def late():
            _thread_go.wait()
            try:
                defer(mark, "thread-defer-accepted")
            except RuntimeError:
                mark("thread-defer-refused")

        thread = threading.Thread(target=late, name="late-thread")
        thread.start()
        return "started"
    _thread_go.set()
    for thread in threading.enumerate():
        if thread.name == "late-thread":
            thread.join()
    return "joined"


def pool_worker_defers(event, context):
    """A thread pool made once and reused: its worker defers for the invocation that asked."""
    global _pool
    from concurrent.futures import ThreadPoolExecutor

    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1)
    _pool.submit(defer, mark, f"pool-{event['n']}").result()
    return "ok"
