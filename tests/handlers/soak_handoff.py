"""The hand-off soak's function: durable work that fails, hangs past the timeout or is cut off by
SIGTERM, and that sometimes fails again when it comes back from the queue."""

import random
import time

import runtime
from runtime import defer


def handler(event, context):
    if "Records" in event:  # only the runtime's own records come here in the soak
        return {"batchItemFailures": []}
    defer(work, event["id"], event["mode"], retries=1, durable=True)
    return "ok"


def work(work_id, mode):
    if runtime.handed_off() is None:
        if mode == "fail":
            raise ConnectionError(f"work {work_id} failed")
        if mode == "hang":
            time.sleep(600)  # past the function timeout: the watchdog hands it off, Lambda kills
        if mode == "slow":
            time.sleep(0.05)  # SIGTERM may come meanwhile
    elif random.random() < 0.3:
        raise ConnectionError(f"work {work_id} failed again")
    print(f"ran {work_id}")
