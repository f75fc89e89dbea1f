"""A function that never imports `logging` at import time (nor does anything it imports)."""

import sys

from runtime import defer


def handler(event, context):
    return {"logging_imported": "logging" in sys.modules}


def imports_logging_late(event, context):
    import logging

    logging.getLogger("late").warning("late warning line")
    logging.getLogger("late").info("late info line")
    return [type(handler).__name__ for handler in logging.getLogger().handlers]


def callback_fails(event, context):
    defer(fails)
    return {"logging_imported": "logging" in sys.modules}


def fails():
    raise KeyError("from a callback")
