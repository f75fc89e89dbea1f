"""Keeping secrets out of the logs: everything the process writes to stdout passes through here.

Filtering the stream rather than log records covers `print`, `logging` at any level and the
runtime's own error blocks alike. Two kinds of secret are masked:
- known values: the contents of SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
  SLACK_CLIENT_SECRET, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, and of any variable named in
  LAMBDA_RUNTIME_REDACT (comma-separated);
- shapes: Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`…) and AWS access key ids (`AKIA…`, `ASIA…`).
Bytes written to `sys.stdout.buffer` directly bypass the filter.
"""

from __future__ import annotations

import os
import re
from io import TextIOBase

MASK = "[REDACTED]"
SECRET_VARIABLES = (
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
_SHAPES = (
    r"\bxox[a-z]-[A-Za-z0-9-]{8,}",
    r"\bxapp-[A-Za-z0-9-]{8,}",
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
)
# Values this short would mask ordinary words; no real secret is that short.
_MIN_VALUE_LENGTH = 8


def pattern(env: os._Environ[str] | dict[str, str]) -> re.Pattern[str]:
    names = list(SECRET_VARIABLES)
    names += [n.strip() for n in env.get("LAMBDA_RUNTIME_REDACT", "").split(",") if n.strip()]
    values = {env[n] for n in names if len(env.get(n, "")) >= _MIN_VALUE_LENGTH}
    # Longest first, so a secret that contains another is masked whole.
    alternatives = [re.escape(v) for v in sorted(values, key=len, reverse=True)] + list(_SHAPES)
    return re.compile("|".join(alternatives))


class RedactingStream:
    """A text stream wrapper; every write is one write to the wrapped stream, masked."""

    def __init__(self, stream: TextIOBase, secrets: re.Pattern[str]) -> None:
        self._stream = stream
        self._sub = secrets.sub

    def write(self, text: str) -> int:
        self._stream.write(self._sub(MASK, text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # buffer, flush, fileno, encoding, isatty...
