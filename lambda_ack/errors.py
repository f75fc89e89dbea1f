"""Error payloads in the managed Python runtime's exact shape.

Callers and dashboards parse `errorMessage`, `errorType`, `requestId` and `stackTrace`; the
trace is a list of `traceback.format_list` entries with the runtime's own frames removed, so the
user sees their code first, as on the managed runtime.
"""

from __future__ import annotations

import os
from types import TracebackType

from lambda_ack import json_c

IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
# The Lambda-Runtime-Function-Error-Type header for an exception raised by user code.
UNHANDLED = "Unhandled"

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Frames between the runtime and an async handler's own: the event loop awaiting it.
_ASYNCIO_DIR = os.path.join(os.path.dirname(os.__file__), "asyncio") + os.sep
_XRAY_CAUSE_LIMIT = 64 * 1024


# What ends the process after the caller has its error. Every other exception, BaseException
# subclasses such as asyncio.CancelledError included, is one invocation's failure.
PROCESS_EXITS = (SystemExit, KeyboardInterrupt)


def exit_status(code: object) -> int:
    """The status `sys.exit(code)` ends a process with: an int as it is, None 0, anything else 1."""
    if isinstance(code, int):
        return code
    return 0 if code is None else 1


class Fault(Exception):
    """A failure the runtime detected itself (bad handler name, unserialisable result...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def payload(
    message: str, error_type: str, trace: list[str], request_id: str = ""
) -> dict[str, object]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def user_frames(tb: TracebackType | None) -> list[tuple[str, int | None, str, str | None]]:
    """(file, line, function, code) of each frame from the first one that is the user's (not the
    runtime's, nor the event loop's that awaited an async handler).

    Plain tuples, as the managed runtime formats them: no column carets in the trace.
    `traceback` is imported here, not at start-up: most invocations never fail.
    """
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if not frame[0].startswith((_RUNTIME_DIR, _ASYNCIO_DIR)):
            return frames[i:]
    return frames


def message_of(exc: BaseException) -> str:
    """`str(exc)`, or what `traceback` prints when that raises: an exception whose `__str__`
    fails must still become an error payload, not a second exception in the runtime."""
    try:
        return str(exc)
    except Exception:
        return f"<exception str() failed: {type(exc).__name__}>"


def from_exception(exc: BaseException, request_id: str = "") -> dict[str, object]:
    if isinstance(exc, Fault):
        return payload(exc.message, exc.error_type, exc.trace, request_id)
    import traceback

    trace = traceback.format_list(user_frames(exc.__traceback__))
    return payload(message_of(exc), type(exc).__name__, trace, request_id)


def xray_cause(exc: BaseException) -> str:
    """The `Lambda-Runtime-Function-XRay-Error-Cause` header, or "" when it would be too large."""
    frames = [] if isinstance(exc, Fault) else user_frames(exc.__traceback__)
    cause = {
        "working_directory": os.getcwd(),
        "exceptions": [
            {
                "message": message_of(exc),
                "type": exc.error_type if isinstance(exc, Fault) else type(exc).__name__,
                "stack": [
                    {"label": name, "path": path, "line": line} for path, line, name, _ in frames
                ],
            }
        ],
        "paths": sorted({frame[0] for frame in frames}),
    }
    text = json_c.dumps(cause)  # ASCII only: safe as a header value
    return text if len(text) < _XRAY_CAUSE_LIMIT else ""


def to_json(data: dict[str, object]) -> bytes:
    return json_c.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace")
