"""The places in AWS's runtime client that error trackers patch, offered so their patches apply.

Sentry's `AwsLambdaIntegration` (and agents built the same way) look for the managed runtime's
`bootstrap` module as an attribute of `__main__`, then replace its `handle_event_request` (to wrap
the handler: a transaction per invocation, errors captured) and the `post_*` methods of its
`LambdaRuntimeClient` (to flush their queue before the answer goes out). Without such a module
they disable themselves, saying so only in debug mode.

This module is that `bootstrap`: `lambda_ack.__main__` hands it out lazily, so a function that uses
no such agent does not import it, and the loop consults it only once something has patched it.
Each patched name is called where awslambdaric calls it: the handler through
`handle_event_request`, each answer through the client's `post_*` method, the init error from
inside the `except` block, so a patch that reads `sys.exc_info()` finds the exception.
"""

from __future__ import annotations

from collections.abc import Callable


class LambdaRuntimeClient:
    """awslambdaric's client methods, posting through the runtime's own Runtime API client."""

    def __init__(self, api: object) -> None:
        self.api = api

    def post_init_error(self, error_response_data: bytes, error_type_override: str) -> int:
        return self.api.post_init_error(error_response_data, error_type_override)

    def post_invocation_result(self, invocation: object, result: bytes, content_type: str) -> int:
        return self.api.post_response(invocation, result, content_type)

    def post_invocation_error(
        self, invocation: object, error: bytes, error_type: str, xray_cause: str
    ) -> int:
        return self.api.post_error(invocation, error, error_type, xray_cause)


def handle_event_request(
    lambda_runtime_client: LambdaRuntimeClient,
    request_handler: Callable[..., object],
    run: Callable[[Callable[..., object]], object],
) -> object:
    """Runs the handler it is given: a tracker's patch wraps `request_handler` on the way in."""
    return run(request_handler)


def _hook_points() -> tuple[object, ...]:
    """What the names above are bound to now."""
    return (
        handle_event_request,
        LambdaRuntimeClient.post_init_error,
        LambdaRuntimeClient.post_invocation_result,
        LambdaRuntimeClient.post_invocation_error,
    )


_ORIGINALS = _hook_points()


def in_use() -> bool:
    """True once something replaced one of the names above: until then the loop does not come
    here at all (nothing to call through, nothing to pay)."""
    return _hook_points() != _ORIGINALS


class Routed:
    """The Runtime API client as the loop uses it, with every call made through the names a
    tracker may have patched, looked up at each call."""

    def __init__(self, api: object) -> None:
        self._client = LambdaRuntimeClient(api)

    def call_handler(self, handler: Callable[..., object], run: Callable[..., object]) -> object:
        return handle_event_request(self._client, handler, run)

    def post_response(self, invocation: object, body: bytes, content_type: str) -> int:
        return LambdaRuntimeClient.post_invocation_result(
            self._client, invocation, body, content_type
        )

    def post_error(
        self, invocation: object, payload: bytes, error_type: str, xray_cause: str = ""
    ) -> int:
        return LambdaRuntimeClient.post_invocation_error(
            self._client, invocation, payload, error_type, xray_cause
        )

    def post_init_error(self, payload: bytes, error_type: str) -> int:
        return LambdaRuntimeClient.post_init_error(self._client, payload, error_type)

    def post_stream(self, *args) -> int:
        """awslambdaric cannot stream, so no tracker patches this: straight to the client."""
        return self._client.api.post_stream(*args)


def routed(api: object) -> object:
    """`api` itself, or, once a tracker patched this module, `Routed(api)`; callers that have
    imported nothing of it (no tracker asked for `bootstrap`) never get here."""
    return Routed(api) if in_use() else api
