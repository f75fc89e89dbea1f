"""lambda_ack.logs.redact under random input (hypothesis): whatever the secret holds (newlines,
quotes, backslashes, any Unicode) and however the text around it is cut into writes, no form of it
in which the process writes it reaches the stream."""

from __future__ import annotations

import io
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_ack.logs.redact import MASK, RedactingStream, secrets_in, written_forms

# Secrets of realistic length; "[" is left out so that the mask itself cannot spell one.
secrets = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="["),
    min_size=8,
    max_size=40,
).filter(lambda s: s.strip() == s and "\n\n" not in s)
around = st.text(alphabet="ab \n{}\"'", max_size=20)


@settings(max_examples=400, deadline=None)
@given(secret=secrets, before=around, after=around, cuts=st.lists(st.integers(0, 200)))
def test_no_written_form_of_a_secret_survives_any_split_into_writes(secret, before, after, cuts):
    env = {"MY_SECRET": secret, "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in(env))
    for form in sorted(written_forms(secret)):
        text = before + form + after + "\n"
        points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
        for start, end in zip(points, points[1:], strict=False):
            stream.write(text[start:end])
    stream.flush()
    written = out.getvalue()
    for form in written_forms(secret):
        assert form not in written
    assert MASK in written


def test_a_multi_line_secret_written_a_line_at_a_time_is_masked():
    """Its first line is held back until the next write shows whether the rest follows."""
    secret = "first-line-of-it\nsecond-line-of-it"
    env = {"MY_SECRET": secret, "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in(env))
    stream.write("key: first-line-of-it\n")
    stream.write("second-line-of-it, then more\n")
    stream.write("first-line-of-it alone\n")
    stream.flush()
    assert out.getvalue() == f"key: {MASK}, then more\nfirst-line-of-it alone\n"


tokens = st.from_regex(
    r"xox[a-z]-[A-Za-z0-9-]{8,30}|xapp-[A-Za-z0-9-]{8,30}|(AKIA|ASIA)[A-Z0-9]{16}", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(token=tokens, before=around, after=around, cuts=st.lists(st.integers(0, 200)))
def test_no_token_shaped_text_survives_any_split_into_writes(token, before, after, cuts):
    """Slack tokens and AWS access key ids are masked by their shape, with no variable naming
    them, however the line is cut into writes."""
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in({}))
    text = f"{before} {token} {after}\n"
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    for start, end in zip(points, points[1:], strict=False):
        stream.write(text[start:end])
    stream.flush()
    assert token not in out.getvalue()
    assert MASK in out.getvalue()


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_text_without_secrets_passes_whole_once_flushed(text):
    env = {"MY_SECRET": "not-in-this-alphabet-\u0000", "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in(env))
    for part in text.split("x"):
        stream.write(part + "x")
    stream.flush()
    assert out.getvalue() == "".join(part + "x" for part in text.split("x"))


def _from_threads(write) -> str:
    """What 8 threads starting at once write through one wrapper, 500 times each."""
    import threading

    env = {"MY_SECRET": "a-secret-value", "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in(env))
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(500):
            write(stream, n, i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: races show
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    stream.flush()
    return out.getvalue()


def test_whole_lines_written_by_threads_at_once_stay_whole():
    import re

    written = _from_threads(lambda s, n, i: s.write(f"<w{n}.{i}> a-secret-value\n"))
    whole = re.findall(rf"^<w\d+\.\d+> {re.escape(MASK)}$", written, re.M)
    assert len(whole) == len(set(whole)) == len(written.splitlines()) == 8 * 500


def test_prints_from_threads_at_once_lose_and_double_nothing():
    """print() makes four writes here (argument, separator, argument, end), so lines of threads
    printing at once interleave, as on any stream; text held back between writes must still be
    written once, none lost, none twice."""
    import re

    written = _from_threads(lambda s, n, i: print(f"<p{n}.{i}>", "a-secret-value", file=s))
    printed = sorted(re.findall(r"<p\d+\.\d+>", written))
    assert printed == sorted(f"<p{n}.{i}>" for n in range(8) for i in range(500))
    assert written.count(MASK) == 8 * 500 and written.count("\n") == 8 * 500
    assert "a-secret-value" not in written
