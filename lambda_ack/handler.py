"""Finding the user's handler from `_HANDLER`, with the managed runtime's init error types.

`module.function`, where the module part may use `/` for sub-folders (`src/app.handler` imports
`src.app`), resolved against `sys.path`, which starts with `LAMBDA_TASK_ROOT`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from lambda_ack.errors import (
    BUILT_IN_MODULE_CONFLICT,
    HANDLER_NOT_FOUND,
    IMPORT_MODULE_ERROR,
    MALFORMED_HANDLER_NAME,
    USER_CODE_SYNTAX_ERROR,
    Fault,
)


def load_handler(spec: str) -> Callable[..., object]:
    """Import the handler's module and return the handler; `Fault` says why it cannot be had.

    Any other exception raised by the module's top-level code propagates unchanged: it is
    reported with its own type, as the managed runtime does.
    """
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise Fault(MALFORMED_HANDLER_NAME, f"Bad handler '{spec}': {e}") from None
    # `.handler`, `a..handler`, `a.`: importlib would raise a bare ValueError or import `a`.
    if not function_name or any(not part for part in module_name.replace("/", ".").split(".")):
        raise Fault(
            MALFORMED_HANDLER_NAME,
            f"Bad handler '{spec}': the module and the function must both be named",
        )

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        name = module_name.replace("/", ".")
        __import__(name)  # importlib.import_module, without importing `importlib` at start-up
        module = sys.modules[name]
    except ImportError as e:
        raise Fault(IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {e}") from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise Fault(
            USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {e}", trace
        ) from None

    try:
        handler = getattr(module, function_name)
    except AttributeError:
        raise Fault(
            HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None
    if not callable(handler):
        raise Fault(
            HANDLER_NOT_FOUND,
            f"Handler '{function_name}' on module '{module_name}' is not callable "
            f"(it is a {type(handler).__name__})",
        )
    return handler
