"""The deferred callbacks the tracker handlers defer: one that works, one that fails, and one
that says it is waiting and then waits for SIGTERM."""

import threading


def send_receipt():
    pass


def charge_card():
    raise ValueError("the card was declined")


def wait_for_shutdown():
    print("deferred callback waiting", flush=True)
    threading.Event().wait()
