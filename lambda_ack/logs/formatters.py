"""The `logging` side of the runtime's log output: the root handler and its two formatters.

Imported only once `logging` is (`lambda_ack.logs` arranges it): a function that never imports
`logging` does not pay for it at cold start, and one that does finds the handler already there
when its import returns, as on the managed runtime.
"""

from __future__ import annotations

import logging
import sys
import time

from lambda_ack import json_c, logs

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
# LogRecord attributes that are not the user's `extra=` fields.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
}


class RequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id, record.tenant_id = logs.request()
        return True


class TextFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r") + "\n"


class JsonFormatter(logging.Formatter):
    """The managed runtime's JSON record: its keys in its order, a dict message kept as an
    object, and every field whose value is None (an `extra` one too) left out."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(datefmt=logs.JSON_TIME)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        level = min(50, max(0, record.levelno)) // 10 * 10
        message = (
            record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        )
        result: dict[str, object] = {
            "timestamp": self.formatTime(record),
            "level": logging.getLevelName(level),
            "message": message,
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[0] is not None:
            import traceback

            from lambda_ack import errors

            etype, value, tb = record.exc_info
            result["stackTrace"] = traceback.format_tb(tb)
            result["errorType"] = etype.__name__
            result["errorMessage"] = errors.message_of(value)
        result["requestId"] = getattr(record, "aws_request_id", None)
        if record.exc_info and record.exc_info[0] is not None:
            result["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in result:
                result[key] = value
        result = {key: value for key, value in result.items() if value is not None}
        return json_c.dumps(result, ensure_ascii=False, default=str) + "\n"


class StdoutHandler(logging.Handler):
    """Writes each record with one `write` call, so records from threads never interleave, and
    as one CloudWatch event whatever formatter the function set on it (a common recipe, and
    python-json-logger): its inner newlines become carriage returns and it ends with a newline,
    as the runtime's own formatters do."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if not isinstance(self.formatter, (TextFormatter, JsonFormatter)):
                text = text.rstrip("\n").replace("\n", "\r") + "\n"
            sys.stdout.write(text)
        except Exception:
            self.handleError(record)


def install(json_format: bool, level: str) -> None:
    """The managed runtime's root handler, and the levels AWS_LAMBDA_LOG_LEVEL asks for."""
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    handler.addFilter(RequestFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    runtime_logger = logging.getLogger("runtime")
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
        runtime_logger.setLevel(level)
    else:
        runtime_logger.setLevel(logging.INFO)
