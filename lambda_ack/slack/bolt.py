"""Bolt for Python apps on this runtime: lazy listeners run in the invocation that acknowledged.

Bolt's own Lambda adapter (`slack_bolt.adapter.aws_lambda`) runs each function of a listener's
`lazy=[...]` list by invoking the function again, asynchronously, through boto3. Here the runtime
keeps running after the response is posted, so every lazy function becomes a deferred callback
of the current invocation instead: no boto3, no `lambda:InvokeFunction`, no payload cap, and the
request's signature is checked once, when it arrives.

The change in an app is its import line:

    from runtime.bolt import SlackRequestHandler  # was: from slack_bolt.adapter.aws_lambda ...

`slack_bolt` is imported by this module only; the runtime itself never imports it, so an app
that does not use Bolt pays nothing for it.

Decisions:
- Lambda HTTP events are read by `lambda_ack.web.http_event` (payload 2.0 and 1.0, base64
  bodies); the Bolt response goes back through `lambda_ack.web.http_event.to_lambda`.
- A lazy function's exception propagates to the runtime, which logs it with its traceback and
  runs the next callback; Bolt's own runners would swallow it into a one-line error message.
- Bolt's `ack()` posts the HTTP answer the moment it is called
  (`lambda_ack.answer.acknowledgement`): the rest of the listener, then its lazy functions, run
  after Slack has it. Bolt's own adapter answers only once the whole listener has returned,
  which is why a listener that acknowledges and then works for 5 s makes Slack show
  `dispatch_failed` there and works here.
- The ack guard (`lambda_ack.slack.guard`, on by default) posts a fallback when no `ack()` came
  2.5 s after the request, and sends the listener's late acknowledgement to its `response_url`.
  It is armed by a middleware after Bolt's own signature check, so an unverified request never
  gets the guard's 200.
- A request already handled is answered 200 and not dispatched again (Slack's retries; the same
  at-most-once store as `SlackApp`, shared by every environment with
  `LAMBDA_RUNTIME_DEDUPE_TABLE`), once Bolt has verified its signature; a listener that fails
  (Bolt answers 500) gives the request back, so Slack's retry runs it.
- Bolt reads "run only this lazy function" from two request headers, which the signature does
  not cover. They are dropped from HTTP requests, so a captured request cannot be replayed in
  that mode. They are honoured only on an event with a top-level `"method": "NONE"`, which no
  HTTP front door produces and Bolt's own adapter puts on its re-invocations: one queued before
  an app switched to this adapter still runs its one function, once, as Bolt would have.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.util.utils import get_arg_names_of_callable

from lambda_ack import defer
from lambda_ack.answer import acknowledgement
from lambda_ack.slack.dedupe import Store, app_store, key_of
from lambda_ack.slack.guard import DEFAULT_AFTER_MS, AckGuard, deliver_late, message_of
from lambda_ack.web.http_event import MalformedEvent, Response, read_request, to_lambda

__all__ = ["DeferredLazyListenerRunner", "SlackRequestHandler"]

# Where the adapter leaves the ack guard for the middleware to arm, and the middleware the key it
# claimed, in the request's context.
_ARM_GUARD = "lambda_ack_arm_guard"
_CLAIMED = "lambda_ack_claimed_key"
# Headers by which Bolt's own adapter tells its re-invocations which lazy function to run.
_LAZY_MARKERS = frozenset({"x-slack-bolt-lazy-only", "x-slack-bolt-lazy-function-name"})


class DeferredLazyListenerRunner(LazyListenerRunner):
    """Bolt's lazy-listener hook, answered with `runtime.defer` instead of a thread or a boto3
    invoke: the lazy functions wait until the acknowledgement has been posted, then run one at a
    time, in the order the listener lists them, in the runtime's main thread."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        defer(_with_bolt_arguments(function, request, self.logger))


def _with_bolt_arguments(
    function: Callable[..., None], request: BoltRequest, logger: logging.Logger
) -> Callable[[], None]:
    """`function` bound to the arguments Bolt injects by name (`respond`, `say`, `body`,
    `client`...), built when it runs. It keeps the function's name, so the runtime's log names
    the lazy function, not this wrapper, when it fails or is skipped."""
    names = get_arg_names_of_callable(function)

    @functools.wraps(function)
    def call() -> None:
        function(
            **build_required_kwargs(
                logger=logger,
                required_arg_names=names,
                request=request,
                response=None,
                this_func=function,
            )
        )

    return call


class SlackRequestHandler:
    """Drop-in for `slack_bolt.adapter.aws_lambda.SlackRequestHandler`: same construction, same
    `handle(event, context)`, same Lambda HTTP answers for POST requests."""

    def __init__(
        self,
        app: App,
        *,
        ack_guard_ms: int | None = DEFAULT_AFTER_MS,
        ack_fallback: str | None = None,
        seen: Store | None = None,
    ) -> None:
        """`ack_guard_ms` and `ack_fallback`: the ack guard's delay (None turns it off) and its
        text; `seen`: the at-most-once store (`lambda_ack.slack.dedupe`)."""
        self.app = app
        self.logger = get_bolt_app_logger(app.name, SlackRequestHandler, app.logger)
        self._guard = AckGuard(ack_guard_ms, ack_fallback)
        app.listener_runner.lazy_listener_runner = DeferredLazyListenerRunner(self.logger)
        if not hasattr(app, "_lambda_ack_seen"):  # once per app: apps build this per invocation
            app._lambda_ack_seen = seen if seen is not None else app_store()
            app.use(_at_most_once(app._lambda_ack_seen))
        if not app.process_before_response:
            # Without it Bolt runs listeners in threads and answers before they finish; Lambda
            # freezes such threads once the runtime asks for the next event.
            self.logger.warning(
                "App(process_before_response=True) is needed on Lambda: listener code left "
                "running in a thread after ack() stalls when the environment is frozen"
            )

    @classmethod
    def clear_all_log_handlers(cls) -> None:
        """What Bolt's adapter does: remove the root logger's handlers, so that the
        `logging.basicConfig(...)` Bolt's examples call next takes effect. Its handler writes to
        stderr, which the runtime masks as it masks stdout. The runtime's error blocks (and, in
        Text format, its invocation lines) do not go through the root logger and keep Lambda's
        format; its other lines, a failed lazy function's traceback among them, then take the
        format the app configured."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)

    def handle(self, event: dict, context: object) -> dict:
        self.logger.debug(f"Incoming event: {event}, context: {context}")  # as Bolt's adapter
        try:
            request = read_request(event)
        except MalformedEvent:
            return _not_found()
        if request.method != "POST":
            return _not_found()
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:  # Bolt's adapter raises here; a 400 is the honest answer
            return to_lambda(Response(400, "the request body is not UTF-8"))
        re_invocation = event.get("method") == "NONE"
        headers = {
            name: request.headers.get_all(name)
            for name in request.headers
            if re_invocation or name not in _LAZY_MARKERS
        }
        bolt_request = BoltRequest(
            body=body,
            query=request.query,
            headers=headers,
            context={
                # What Bolt's adapter puts there, for listeners that read them.
                "aws_lambda_function_name": getattr(context, "function_name", None),
                "aws_lambda_invoked_function_arn": getattr(context, "invoked_function_arn", None),
                "lambda_request": event,
            },
        )
        answer = acknowledgement.active()
        if answer is None:  # called outside the runtime's loop: Bolt's own flow answers
            return _lambda_answer(self.app.dispatch(bolt_request))
        bolt_request.context["ack"] = _PostingAck()
        body = bolt_request.body
        kind = "event" if body.get("type") == "event_callback" else _kind(body)
        # Armed by the middleware below, once Bolt has verified the signature: a forged request
        # on a cold start past the guard's delay must get Bolt's 401, not the guard's 200.
        bolt_request.context[_ARM_GUARD] = lambda: self._guard.watch(
            answer,
            lambda late: deliver_late(kind, body.get("response_url"), message_of(late.body)),
        )
        try:
            response: BoltResponse = self.app.dispatch(bolt_request)
        except BaseException:
            self._give_back(bolt_request)
            raise
        finally:
            self._guard.stand_down()
        if response.status >= 500:  # Bolt's answer for a listener that failed
            self._give_back(bolt_request)
        return None if answer.early else _lambda_answer(response)

    def _give_back(self, request: BoltRequest) -> None:
        """The request's claim, released: the listener failed, so Slack's retry may run it (Bolt
        runs listeners after its middleware has returned, so only here is the failure seen)."""
        key = request.context.get(_CLAIMED)
        if key is not None:
            self.app._lambda_ack_seen.release(key)


class _PostingAck(Ack):
    """Bolt's `ack`, which also posts its answer to the Runtime API when it is called. It keeps
    no reference (Bolt copies requests for lazy listeners): the invocation is looked up."""

    def __call__(self, *args, **kwargs) -> BoltResponse:
        response = super().__call__(*args, **kwargs)
        answer = acknowledgement.active()
        if answer is not None and not answer.post_ack(_lambda_answer(response), response):
            logging.getLogger("runtime").warning(
                "ack() called again: Slack already has this request's acknowledgement"
            )
        return response


def _at_most_once(seen: Store) -> Callable[..., object]:
    """Bolt middleware, run after its signature check: a request already handled here is
    answered 200 and not dispatched again; a new one has the ack guard armed for it. A
    function: Bolt passes middleware its arguments by name."""

    def at_most_once(req: BoltRequest, resp: BoltResponse, next: Callable[[], object]):
        key = key_of(req.body.get("event_id"), req.raw_body.encode())
        if not seen.claim(key):
            retry = (req.headers.get("x-slack-retry-num") or ["-"])[0]
            logging.getLogger("runtime.slack").warning(
                "duplicate request ignored (%s, retry %s)", key, retry
            )
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        req.context[_CLAIMED] = key  # given back by the adapter if the listener fails
        arm_guard = req.context.get(_ARM_GUARD)
        if arm_guard is not None:
            arm_guard()
        return next()

    return at_most_once


def _kind(body: dict) -> str:
    return "command" if "command" in body else "interaction"


def _lambda_answer(answer: BoltResponse) -> dict:
    # Bolt's adapter's shape exactly: no isBase64Encoded (Bolt's bodies are text).
    return {"statusCode": answer.status, "body": answer.body, "headers": answer.first_headers()}


def _not_found() -> dict:
    """What Bolt's adapter answers to anything but a POST (and to an event that is not HTTP)."""
    return {"statusCode": 404, "body": "Not Found", "headers": {}}
