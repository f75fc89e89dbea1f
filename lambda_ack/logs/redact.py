"""Keeping secrets out of the logs: everything the process writes to stdout and stderr passes here.

Filtering the streams rather than log records covers `print`, `logging` at any level, logging's
own "--- Logging error ---" reports (stderr) and the runtime's error blocks alike. Two kinds of
secret are masked:
- known values: the contents of SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
  SLACK_CLIENT_SECRET, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, LAMBDA_RUNTIME_HANDOFF_KEY,
  and of any variable named in LAMBDA_RUNTIME_REDACT (comma-separated), also in the escaped
  forms Python and the runtime write them in: newlines as carriage returns (Text logs), JSON
  string escapes (JSON logs, and a JSON log of a printed dict), JSON escapes applied twice (a
  JSON log of a line holding JSON, such as a hand-off message), `repr` escapes (a printed dict
  or list);
- shapes: Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`…) and AWS access key ids (`AKIA…`, `ASIA…`).

A secret split across two writes is still masked: a write is passed on only up to its last
newline (a log record, a `print`), and the rest waits for the next write or `flush`; if what
would be passed on ends with the first lines of a multi-line secret, those wait too.

Not covered: bytes written to `sys.stdout.buffer` or to file descriptors 1 and 2 directly (by
C code, `os.write` or a subprocess), values shorter than 8 characters, and any other encoding of
a secret (base64, URL quoting, hex).
"""

from __future__ import annotations

import os
import threading
from io import TextIOBase

# `json.dumps` of a string, without the `json` package; `re` only once a text could hold a
# token: neither is loaded at start-up for this module.
from lambda_ack.json_c import encode_basestring, encode_basestring_ascii

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    import re

MASK = "[REDACTED]"
SECRET_VARIABLES = (
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_HANDOFF_KEY",
)
_SHAPES = (
    r"\bxox[a-z]-[A-Za-z0-9-]{8,}",
    r"\bxapp-[A-Za-z0-9-]{8,}",
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
)
# Every shape begins with one of these: a text without any holds no shape.
_SHAPE_STARTS = ("xox", "xapp-", "AKIA", "ASIA")
# Values this short would mask ordinary words; no real secret is that short.
_MIN_VALUE_LENGTH = 8


def secret_values(env: os._Environ[str] | dict[str, str]) -> set[str]:
    names = list(SECRET_VARIABLES)
    names += [n.strip() for n in env.get("LAMBDA_RUNTIME_REDACT", "").split(",") if n.strip()]
    return {env[n] for n in names if len(env.get(n, "")) >= _MIN_VALUE_LENGTH}


def written_forms(value: str) -> set[str]:
    """`value` as it appears in what the process writes, however Python or the runtime escaped
    it on the way: as it is, Text logs' `\\r` for newlines, JSON (both ASCII modes), `repr`, JSON
    of a `repr` (a JSON log record of a printed dict), and JSON of JSON (a JSON log record of a
    line that holds JSON: a hand-off message logged to run again)."""
    text = value.replace("\n", "\r")
    as_repr = repr(value)[1:-1]
    forms = {value, text, as_repr}
    for form in (value, as_repr):
        for once in (encode_basestring(form)[1:-1], encode_basestring_ascii(form)[1:-1]):
            forms.add(once)
            forms.add(encode_basestring(once)[1:-1])
            forms.add(encode_basestring_ascii(once)[1:-1])
    return forms


class Secrets:
    """Where the secrets are in a text.

    The known values' written forms are plain substrings, looked for as such: as one regular
    expression, Lambda's 1 KB session token made it take about 2 ms to compile, at every start.
    The shapes' pattern is compiled the first time a text could hold one.
    """

    def __init__(self, forms: set[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._forms = tuple(sorted(forms, key=len, reverse=True))
        self._shapes: re.Pattern[str] | None = None
        self.held_prefixes = _first_lines(self._forms)

    def masked(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        shapes = self._shapes_for(text)
        return text if shapes is None else shapes.sub(MASK, text)

    def first_across(self, text: str, cut: int) -> int:
        """Where the first secret that `cut` falls inside (start < cut < end) starts, else `cut`."""
        first = cut
        for form in self._forms:
            # An occurrence that starts after `cut - len` and ends after `cut`.
            start = text.find(form, max(0, cut - len(form) + 1), cut + len(form) - 1)
            if 0 <= start < first:
                first = start
        shapes = self._shapes_for(text)
        if shapes is not None:
            for match in shapes.finditer(text):
                if match.start() < cut < match.end():
                    first = min(first, match.start())
                    break
        return first

    def _shapes_for(self, text: str) -> re.Pattern[str] | None:
        if not any(start in text for start in _SHAPE_STARTS):
            return None
        if self._shapes is None:
            import re

            self._shapes = re.compile("|".join(_SHAPES))
        return self._shapes


def secrets_in(env: os._Environ[str] | dict[str, str]) -> Secrets:
    return Secrets({form for value in secret_values(env) for form in written_forms(value)})


def _first_lines(forms: tuple[str, ...]) -> tuple[str, ...]:
    """The first lines of each multi-line form, longest first: text ending in one of them is
    held back until the next write shows whether the secret follows."""
    prefixes = set()
    for form in forms:
        if "\n" not in form and "\r" not in form:
            continue  # most: a character at a time through a 1 KB token is 0.1 ms of init
        for end, char in enumerate(form[:-1]):
            if char in "\n\r":
                prefixes.add(form[: end + 1])
    return tuple(sorted(prefixes, key=len, reverse=True))


class RedactingStream:
    """A text stream wrapper that masks secrets, passing on whole lines (see the module)."""

    def __init__(self, stream: TextIOBase, secrets: Secrets) -> None:
        self._stream = stream
        self._masked = secrets.masked
        self._first_across = secrets.first_across
        self._prefixes = secrets.held_prefixes
        self._pending = ""
        # Threads print at once; re-entrant, because a signal handler that logs runs on the
        # main thread, possibly in the middle of its own write.
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        with self._lock:
            data = self._pending + text if self._pending else text
            cut = data.rfind("\n") + 1
            if cut < len(data) or self._prefixes:  # a tail waits: the cut must be safe
                cut = self._safe_cut(data, cut)
            if cut:
                self._stream.write(self._masked(data[:cut]))
            self._pending = data[cut:]
        return len(text)

    def _safe_cut(self, data: str, cut: int) -> int:
        """Move the cut back until no secret straddles it and what goes out does not end with
        the first lines of a multi-line secret; each step only moves it back, so this ends."""
        while cut:
            moved = self._first_across(data, cut)
            head = data[:moved]
            for prefix in self._prefixes:
                if head.endswith(prefix):
                    moved -= len(prefix)
                    break
            if moved == cut:
                return cut
            cut = moved
        return 0

    def write_pending(self) -> None:
        """Pass on a line still waiting for its end (before the runtime writes a line itself)."""
        if self._pending:
            with self._lock:
                pending, self._pending = self._pending, ""
                self._stream.write(self._masked(pending))

    def flush(self) -> None:
        self.write_pending()
        self._stream.flush()

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # buffer, fileno, encoding, isatty...
