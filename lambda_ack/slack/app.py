"""`SlackApp`: a Lambda handler that takes Slack's requests, acknowledges them, and routes them.

`handler(event, context)` runs, in this order: read the HTTP request from the event (any Lambda
HTTP shape), verify Slack's signature on its raw bytes, parse it, drop it if this environment has
already handled it, call the listener, and turn the listener's return value into the HTTP answer.
Listeners run inside the 3-second acknowledgement, so they return at once and `runtime.defer`
whatever takes longer. A listener that raises fails the invocation as any handler error does: its
deferred work is discarded, Lambda answers Slack with a bare 502, and a retry is handled afresh.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from lambda_ack.answer import acknowledgement
from lambda_ack.slack.dedupe import Store, app_store
from lambda_ack.slack.guard import DEFAULT_AFTER_MS, AckGuard, deliver_late, message_of
from lambda_ack.slack.payload import BadRequest, SlackRequest, parse
from lambda_ack.slack.signature import InvalidSignature, verify
from lambda_ack.web.http_event import MalformedEvent, Response, read_request, to_lambda

log = logging.getLogger("runtime.slack")

Listener = Callable[[dict], object]
# Kinds that reach no listener and defer nothing: the at-most-once guard does not apply to them,
# so re-verifying the Request URL with the same challenge still gets the challenge back.
_NO_WORK = ("url_verification", "ssl_check")


class ConfigurationError(RuntimeError):
    """The app cannot run safely as configured (no signing secret, no bot token)."""


class SlackApp:
    """Routes verified Slack requests to listeners registered with the decorators below.

    `signing_secret` defaults to `$SLACK_SIGNING_SECRET`; without one the constructor raises, so
    a module that builds its app at import time fails the function's init instead of serving
    unverified requests. `seen` is the at-most-once store (`lambda_ack.dedupe`: this process's
    memory, or the table `LAMBDA_RUNTIME_DEDUPE_TABLE` names, shared by every environment).
    `ack_guard_ms` and `ack_fallback`: the ack guard's delay (None turns it off) and the text of
    its fallback answer (default: an empty 200).
    """

    def __init__(
        self,
        signing_secret: str | None = None,
        *,
        seen: Store | None = None,
        clock: Callable[[], float] = time.time,
        ack_guard_ms: int | None = DEFAULT_AFTER_MS,
        ack_fallback: str | None = None,
    ) -> None:
        secret = signing_secret or os.environ.get("SLACK_SIGNING_SECRET", "")
        if not secret:
            raise ConfigurationError(
                "SLACK_SIGNING_SECRET is not set: the app would have no way to tell Slack's "
                "requests from forged ones, so it refuses to start. Set it to the Signing Secret "
                "from your Slack app's Basic Information page."
            )
        self._secret = secret
        self._seen = seen if seen is not None else app_store()
        self._clock = clock
        self._listeners: dict[tuple[str, str], Listener] = {}
        self._guard = AckGuard(ack_guard_ms, ack_fallback)

    def command(self, name: str) -> Callable[[Listener], Listener]:
        """`@app.command("/start-process")`: the listener gets the command's form fields."""
        return self._register("command", name)

    def event(self, event_type: str) -> Callable[[Listener], Listener]:
        """`@app.event("app_mention")`: the listener gets the inner `event` object."""
        return self._register("event", event_type)

    def action(self, action_id: str) -> Callable[[Listener], Listener]:
        """`@app.action("approve")`: a `block_actions` click; the listener gets the payload."""
        return self._register("interaction", action_id)

    def handler(self, event: dict, context: object = None) -> dict:
        """The Lambda handler: `handler = app.handler` in the function's module."""
        try:
            request = read_request(event)
        except MalformedEvent as e:
            return _refuse(400, f"not an HTTP request event: {e}")
        try:
            verify(request, self._secret, now=self._clock())
        except InvalidSignature as e:
            return _refuse(401, f"invalid Slack request: {e}")
        try:
            slack = parse(request)
        except BadRequest as e:
            return _refuse(400, f"bad Slack request: {e}")
        if slack.kind in _NO_WORK:  # answered every time: Slack's checks, which start no work
            return to_lambda(self._dispatch(slack))
        if not self._seen.claim(slack.dedupe_key):
            log.warning(
                "duplicate request ignored (%s, retry %s)", slack.dedupe_key, slack.retry_num
            )
            return to_lambda(Response(200, None, {"x-slack-no-retry": "1"}))
        try:
            return self._answer(slack)
        except BaseException:
            self._seen.release(slack.dedupe_key)
            raise

    def _answer(self, slack: SlackRequest) -> object:
        """The listener's answer, whether it returns it or posts it early with `ack()`."""
        answer = acknowledgement.active()
        if answer is None:  # called outside the runtime's loop (a test): the return value only
            return to_lambda(self._dispatch(slack))
        answer.shape = to_lambda
        response_url = slack.body.get("response_url")

        def late(result: object) -> None:
            deliver_late(slack.kind, response_url, message_of(to_lambda(result)["body"]))

        self._guard.watch(answer, late)
        try:
            result = self._dispatch(slack)
        finally:
            self._guard.stand_down()  # from here the guard has fired or never will
        if not answer.early:
            return to_lambda(result)
        if answer.source == "guard":
            late(result)  # the listener's return value was its acknowledgement
            return None
        return result  # after ack(): None, or a value the runtime logs as discarded

    def _register(self, kind: str, route: str) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self._listeners[(kind, route)] = listener
            return listener

        return register

    def _dispatch(self, slack: SlackRequest) -> object:
        if slack.kind == "url_verification":
            return {"challenge": slack.body["challenge"]}
        listener = self._listeners.get((slack.kind, slack.route))
        if listener is None:
            if slack.kind not in ("ssl_check", "other"):
                log.warning("no listener for %s %r; acknowledged", slack.kind, slack.route)
            if slack.kind == "command":
                return f"This app has no handler for {slack.route}."
            return None
        return listener(slack.body["event"] if slack.kind == "event" else slack.body)


def _refuse(status: int, reason: str) -> dict:
    # Logged so a misconfigured secret or a probing client shows up; the reason never holds the
    # body or a header value. A retry would be refused the same way: ask Slack not to send one.
    log.warning("request refused (%d): %s", status, reason)
    return to_lambda(Response(status, reason, {"x-slack-no-retry": "1"}))
