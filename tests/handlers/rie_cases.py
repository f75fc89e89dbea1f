"""Handlers for the tests under the real RIE. A journal file (path in the event) records what ran,
in order, so the tests read order off it rather than off timing."""

import os
import threading

from runtime import defer


def note(path: str, line: str) -> None:
    with open(path, "a") as journal:
        journal.write(line + "\n")


def journaled(event, context):
    """Notes itself, defers a note, and answers with the journal as it stood on arrival."""
    path = event["journal"]
    before = ""
    if os.path.exists(path):
        with open(path) as journal:
            before = journal.read()
    note(path, f"handler {event['n']}")
    defer(note, path, f"callback {event['n']}")
    return {"journal_on_arrival": before, "pid": os.getpid()}


def stuck(event, context):
    if event.get("stuck"):
        note(event["journal"], str(os.getpid()))
        defer(threading.Event().wait)  # never set: deferred work that never ends
    return {"pid": os.getpid()}


def sized(event, context):
    return {"pid": os.getpid(), "pad": "x" * event.get("size", 0)}


def crash(event, context):
    os._exit(9)
