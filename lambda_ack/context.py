"""The context object handed to handlers, attribute for attribute what the managed runtime gives.

Handlers written for AWS's managed Python runtime read `memory_limit_in_mb` as a string, compare
`identity`/`client_context` fields that may be None, and print the context; all of that behaves
the same here. `defer` and `ack` are the additions.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from lambda_ack import deferred


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data: dict | None = None) -> None:
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self) -> str:
        return _repr(self)


class Client:
    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, data: dict) -> None:
        for name in self.__slots__:
            setattr(self, name, data.get(name))

    def __repr__(self) -> str:
        return _repr(self)


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data: dict) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else client

    def __repr__(self) -> str:
        return _repr(self)


def _repr(obj: object) -> str:
    fields = ",".join(f"{name}={getattr(obj, name)}" for name in obj.__slots__)
    return f"{type(obj).__name__}([{fields}])"


_FUNCTION_VARIABLES = (
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
)
_facts: tuple[str | None, ...] | None = None


def _function_facts() -> tuple[str | None, ...]:
    """What Lambda sets once for the environment's life, read at the first invocation rather than
    at each one (five environment lookups were a tenth of the runtime's own time per invocation),
    and so unchanged by a handler that edits os.environ."""
    global _facts
    if _facts is None:
        _facts = tuple(os.environ.get(name) for name in _FUNCTION_VARIABLES)
    return _facts


# The W3C trace-context fields a caller may send under the client context's "w3c" key.
W3C_FIELDS = ("traceparent", "tracestate", "baggage")


def _pop_w3c(client_context: dict | None) -> dict[str, str]:
    """Take "w3c" out of the client context (as the managed runtime does, so it is not seen
    through `client_context`) and keep its string-valued W3C fields."""
    if not client_context or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {name: raw[name] for name in W3C_FIELDS if isinstance(raw.get(name), str)}


class LambdaContext:
    """Per-invocation facts; `get_remaining_time_in_millis` counts down to Lambda's deadline."""

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str | None = None,
        client_context: dict | None = None,
        cognito_identity: dict | None = None,
        tenant_id: str | None = None,
    ) -> None:
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
        ) = _function_facts()
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c = _pop_w3c(client_context) if client_context else {}
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(cognito_identity)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def w3c(self) -> dict[str, str]:
        """The W3C trace context the caller sent (traceparent, tracestate, baggage), a copy."""
        return dict(self._w3c)

    def defer(self, fn: Callable[..., object], /, *args: object, **kwargs: object) -> None:
        """Same as `runtime.defer`: run `fn(*args, **kwargs)` after the response is posted."""
        deferred.defer(fn, *args, **kwargs)

    def ack(self, result: object = None) -> None:
        """Same as `runtime.ack`: post `result` as the answer now; the handler goes on after."""
        from lambda_ack.answer.acknowledgement import ack

        ack(result)

    def log(self, msg: object) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )
