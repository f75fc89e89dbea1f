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
- Everything written to stdout and stderr is filtered for secrets (`lambda_ack.logs.redact`).
  Events are never logged by the runtime.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

JSON_TIME = "%Y-%m-%dT%H:%M:%SZ"
_INFO = 20  # logging.INFO, without importing logging
_request_id = ""
_tenant_id: str | None = None
_json = False
_raw_stdout = sys.stdout
_runtime_level = _INFO  # the runtime logger's level until `logging` is imported
# logging's level names, read from AWS_LAMBDA_LOG_LEVEL before `logging` is imported.
_LEVELS = {
    "CRITICAL": 50, "FATAL": 50, "ERROR": 40, "WARN": 30, "WARNING": 30, "INFO": 20, "DEBUG": 10,
    "NOTSET": 0,
}  # fmt: skip


def set_request(request_id: str, tenant_id: str | None) -> None:
    global _request_id, _tenant_id
    _request_id = request_id
    _tenant_id = tenant_id


def request_id() -> str:
    return _request_id


def request() -> tuple[str, str | None]:
    """The current invocation's request and tenant ids, for every log record."""
    return _request_id, _tenant_id


class _RuntimeLog:
    """The runtime's own logger (`runtime`), which imports `logging` only to write: a line about
    a failed callback or a retried call costs that import, a quiet cold start does not."""

    _logger = None

    def __getattr__(self, name: str):
        if self._logger is None:
            import logging

            self._logger = logging.getLogger("runtime")
        return getattr(self._logger, name)

    def enabled(self, level: int) -> bool:
        # Before `logging` is imported nobody can have changed the logger's level.
        if self._logger is None and "logging" not in sys.modules:
            return level >= _runtime_level
        return self.isEnabledFor(level)

    def debug(self, message: str, *args: object) -> None:
        if self.enabled(10):
            self.__getattr__("debug")(message, *args)

    def info(self, message: str, *args: object, **kwargs: object) -> None:
        if self.enabled(_INFO):
            self.__getattr__("info")(message, *args, **kwargs)


runtime_log = _RuntimeLog()


def setup(log_format: str | None, log_level: str | None) -> None:
    """Streams first (redacted from here on); the root handler once `logging` is imported."""
    global _raw_stdout
    import os

    from lambda_ack.logs.after_import import after_import
    from lambda_ack.logs.redact import RedactingStream, secrets_in

    _raw_stdout = sys.stdout
    # Text that UTF-8 cannot encode (a lone surrogate from a JSON event's "\ud800") is written
    # escaped, as stderr already does, instead of raising inside the runtime's own error report.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    secrets = secrets_in(os.environ)
    sys.stdout = RedactingStream(sys.stdout, secrets)
    # Lambda ships stderr to CloudWatch too: logging's own error reports and thread tracebacks.
    sys.stderr = RedactingStream(sys.stderr, secrets)
    level = _follow(log_format, log_level)
    after_import("logging", lambda _: _install_handler(level))


def _follow(log_format: str | None, log_level: str | None) -> str:
    """Take Lambda's log format and level for the runtime's own lines; the level's name."""
    global _json, _runtime_level
    _json = (log_format or "").upper() == "JSON"
    level = {"TRACE": "DEBUG"}.get((log_level or "").upper(), (log_level or "").upper())
    _runtime_level = _LEVELS.get(level, _INFO)
    return level


def join_managed_runtime(log_format: str | None, log_level: str | None) -> None:
    """On AWS's managed runtime (`lambda_ack.environment.managed`), whose logging and streams stay
    as they are: the runtime's own lines only take the same format and level as on this
    runtime."""
    _follow(log_format, log_level)
    import logging

    logging.getLogger("runtime").setLevel(_runtime_level)


def _install_handler(level: str) -> None:
    from lambda_ack.logs import formatters as log_format

    log_format.install(_json, level)


def flush_streams() -> None:
    """Before `os._exit`: what the process wrote must reach Lambda's log even on a closed or
    broken stream."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            continue


def runtime_info(message: str, fields: dict[str, object] | Callable[[], dict[str, object]]) -> None:
    """An INFO line from the runtime itself, written once per invocation, so it skips what it
    does not need: it is written straight to stdout, unfiltered (it holds only numbers the
    runtime computed) and without a LogRecord, in the shape `lambda_ack.logs.formatters` gives
    records of the `runtime` logger."""
    if not runtime_log.enabled(_INFO):
        return
    write_pending = getattr(sys.stdout, "write_pending", None)
    if write_pending is not None:  # a print(..., end="") of this invocation comes first
        write_pending()
    if not _json:
        _raw_stdout.write(f"[INFO]\t{_stamp(time.time())}\t{_request_id}\t{message}\n")
        return
    from lambda_ack import json_c

    record = runtime_record("INFO", message)
    record["requestId"] = _request_id
    if _tenant_id is not None:
        record["tenantId"] = _tenant_id
    record.update(fields() if callable(fields) else fields)
    _raw_stdout.write(json_c.dumps(record, ensure_ascii=False) + "\n")


def runtime_record(level: str, message: str) -> dict[str, object]:
    """A JSON line's fields for the runtime's own logger, as `lambda_ack.logs.formatters` writes
    them (the supervisor of Managed Instances workers writes its warnings with it too)."""
    return {
        "timestamp": _stamp(time.time()),
        "level": level,
        "message": message,
        "logger": "runtime",
    }


def _stamp(now: float) -> str:
    """The UTC time with milliseconds, as Lambda's log lines have it. The part up to the second
    is kept from the last call: every invocation writes a line, most within the same second."""
    global _second, _second_text
    second = int(now)
    if second != _second:
        _second, _second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_second_text}.{int(now * 1000) % 1000:03d}Z"


_second, _second_text = -1, ""


def write_error(error: dict[str, object]) -> None:
    """Log a failed invocation or init the way the managed runtime does: one event per error."""
    if _json:
        record = {"timestamp": time.strftime(JSON_TIME, time.gmtime()), "level": "ERROR"}
        record.update(error)
        from lambda_ack import json_c

        sys.stdout.write(json_c.dumps(record, ensure_ascii=False) + "\n")
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
