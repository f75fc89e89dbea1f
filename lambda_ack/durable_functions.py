"""AWS Lambda durable functions: an invocation that runs part of a durable execution.

A function decorated with the durable execution SDK's `@durable_execution` is invoked by
Lambda's durable service with an event that carries the execution (`DurableExecutionArn`,
`CheckpointToken`, the state so far); the SDK replays the steps already checkpointed and runs
on, and the handler's return value (its status: succeeded, pending, failed) is what the
service waits for. The runtime runs such a handler as any other: the event as decoded JSON, the
result posted as JSON, an exception to `/error` so the service retries the invocation.

What this runtime adds around a handler would break that contract, so an invocation carrying a
durable execution gets none of it:
- `ack()` raises: an early answer would be taken for the handler's status while its steps
  still run.
- `defer()` raises, durable or not: work after the answer is outside the checkpoint log, so it
  would run again on every replay, or be lost; `context.step` is the durable way.
- no Slack ack guard (`lambda_ack.slack.guard`), no hand-off (nothing can be deferred).
"""

from __future__ import annotations

from lambda_ack import deferred

MARK = "DurableExecutionArn"


def notice(event: object) -> None:
    """Called by the loop with each decoded event: marks the invocation's batch when the event
    carries a durable execution."""
    if type(event) is dict and MARK in event:
        batch = deferred.current()
        if batch is not None:
            batch.durable_execution = str(event[MARK])


def in_execution() -> bool:
    """True in code of an invocation that runs part of a durable execution."""
    batch = deferred.caller_batch()
    return batch is not None and batch.durable_execution is not None


def refusal(what: str) -> str:
    """Why `what` (`"ack()"`, `"defer()"`) is refused in a durable execution, and what to do."""
    if what == "ack()":
        why = (
            "the durable service waits for the handler's result, and takes an early answer for "
            "it while the steps still run; return the result instead"
        )
    else:
        why = (
            "work run after the answer is outside the checkpoint log, so it would run again on "
            "every replay or be lost; make it a step: context.step(...)"
        )
    return f"{what} cannot be used in a durable execution (the event has a {MARK}): {why}"
