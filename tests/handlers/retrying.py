"""Deferred callbacks with `retries=` and `durable=True`; attempts are posted as marks."""

from basic import mark

from runtime import defer

attempts = {"flaky": 0}


def always_fails(event, context):
    defer(fail_with_mark, "always", retries=2)


def fails_until_the_third(event, context):
    attempts["flaky"] = 0
    defer(flaky, retries=4, durable=True)


def fails_with_little_time(event, context):
    defer(fail_with_mark, "short", retries=30)


def fail_with_mark(name):
    mark(f"attempt-{name}")
    raise ConnectionError(f"{name} failed")


def flaky():
    attempts["flaky"] += 1
    mark(f"flaky-{attempts['flaky']}")
    if attempts["flaky"] < 3:
        raise ConnectionError("not yet")


class Worker:
    def run(self):
        pass


def refuses_what_cannot_be_written_down(event, context):
    def local():
        pass

    refused = []
    for fn, args, kwargs in [
        (lambda: None, (), {}),
        (Worker().run, (), {}),
        (local, (), {}),
        (mark, ({1, 2},), {}),
        (mark, ("ok",), {"when": object()}),
    ]:
        try:
            defer(fn, *args, durable=True, **kwargs)
        except TypeError as e:
            refused.append(str(e))
    defer(mark, "written-down", durable=True)  # a module-level function, JSON arguments
    return refused
