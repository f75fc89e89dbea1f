"""Log output in the managed Python runtime's conventions, so existing log queries keep working.

- `AWS_LAMBDA_LOG_FORMAT=Text` (default): `[LEVEL]\\t<UTC time>Z\\t<request id>\\t<message>`.
  `JSON`: one object per record with `timestamp, level, message, logger, requestId` (plus
  `stackTrace, errorType, errorMessage, location` when an exception is attached).
- `AWS_LAMBDA_LOG_LEVEL` sets the root logger's level (`TRACE` means DEBUG). Unset, the root
  logger keeps Python's default (WARNING), exactly as on the managed runtime, so `logger.info`
  in user code stays silent until the user asks for it. The runtime's own logger (`runtime`)
  reports at INFO unless that variable says otherwise.
- On stdout Lambda cuts a log event at each newline, so a multi-line record (a traceback) has its
  inner newlines written as carriage returns and stays one CloudWatch event, like the error
  blocks the managed runtime writes.
- Everything written to stdout and stderr is filtered for secrets (`lambda_ack.redact`). Events
  are never logged by the runtime.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_request_id = ""
_tenant_id: str | None = None
_json = False
_raw_stdout = sys.stdout
_runtime_log = logging.getLogger("runtime")

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_JSON_TIME = "%Y-%m-%dT%H:%M:%SZ"
# LogRecord attributes that are not the user's `extra=` fields.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
}


def set_request(request_id: str, tenant_id: str | None) -> None:
    global _request_id, _tenant_id
    _request_id = request_id
    _tenant_id = tenant_id


def request_id() -> str:
    return _request_id


class _RequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        record.tenant_id = _tenant_id
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
        super().__init__(datefmt=_JSON_TIME)

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
        return json.dumps(result, ensure_ascii=False, default=str) + "\n"


class _StdoutHandler(logging.Handler):
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


def setup(log_format: str | None, log_level: str | None) -> None:
    global _json
    import os

    from lambda_ack.redact import RedactingStream, held_prefixes, pattern

    global _raw_stdout
    _raw_stdout = sys.stdout
    # Text that UTF-8 cannot encode (a lone surrogate from a JSON event's "\ud800") is written
    # escaped, as stderr already does, instead of raising inside the runtime's own error report.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    secrets, prefixes = pattern(os.environ), held_prefixes(os.environ)
    sys.stdout = RedactingStream(sys.stdout, secrets, prefixes)
    # Lambda ships stderr to CloudWatch too: logging's own error reports and thread tracebacks.
    sys.stderr = RedactingStream(sys.stderr, secrets, prefixes)
    _json = (log_format or "").upper() == "JSON"
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter() if _json else TextFormatter())
    handler.addFilter(_RequestFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    level = {"TRACE": "DEBUG"}.get((log_level or "").upper(), (log_level or "").upper())
    runtime_logger = logging.getLogger("runtime")
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
        runtime_logger.setLevel(level)
    else:
        runtime_logger.setLevel(logging.INFO)


def flush_streams() -> None:
    """Before `os._exit`: what the process wrote must reach Lambda's log even on a closed or
    broken stream."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            continue


def runtime_info(message: str, fields: dict[str, object]) -> None:
    """An INFO line from the runtime itself, written once per invocation, so it skips what it
    does not need: in Text format it is written straight to stdout, unfiltered (it holds only
    numbers the runtime computed) and without a LogRecord. JSON takes the ordinary path."""
    if not _runtime_log.isEnabledFor(logging.INFO):
        return
    if _json:
        _runtime_log.info(message, extra=fields)
        return
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    write_pending = getattr(sys.stdout, "write_pending", None)
    if write_pending is not None:  # a print(..., end="") of this invocation comes first
        write_pending()
    _raw_stdout.write(f"[INFO]\t{stamp}.{int(now * 1000) % 1000:03d}Z\t{_request_id}\t{message}\n")


def write_error(error: dict[str, object]) -> None:
    """Log a failed invocation or init the way the managed runtime does: one event per error."""
    if _json:
        record = {"timestamp": time.strftime(_JSON_TIME, time.gmtime()), "level": "ERROR"}
        record.update(error)
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    head = "[ERROR]"
    if error.get("errorType"):
        head += f" {error['errorType']}"
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + f" {error['errorMessage']}"
    lines = [head, "Traceback (most recent call last):"]
    for entry in error.get("stackTrace") or ():  # type: ignore[union-attr]
        for line in entry.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
