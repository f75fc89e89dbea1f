"""runtime.redact under random input (hypothesis): whatever the secret holds (newlines, quotes,
backslashes, any Unicode) and however the text around it is cut into writes, no form of it in
which the process writes it reaches the stream."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.redact import MASK, RedactingStream, held_prefixes, pattern, written_forms

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
    stream = RedactingStream(out, pattern(env), held_prefixes(env))
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


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_text_without_secrets_passes_whole_once_flushed(text):
    env = {"MY_SECRET": "not-in-this-alphabet-\u0000", "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, pattern(env), held_prefixes(env))
    for part in text.split("x"):
        stream.write(part + "x")
    stream.flush()
    assert out.getvalue() == "".join(part + "x" for part in text.split("x"))


def test_lines_printed_by_many_threads_at_once_are_each_written_once_whole():
    import threading

    env = {"MY_SECRET": "a-secret-value", "LAMBDA_RUNTIME_REDACT": "MY_SECRET"}
    out = io.StringIO()
    stream = RedactingStream(out, pattern(env), held_prefixes(env))
    start = threading.Barrier(8)

    def printer(n: int) -> None:
        start.wait()
        for i in range(500):
            print(f"thread {n} line {i}", "a-secret-value", file=stream)

    threads = [threading.Thread(target=printer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream.flush()
    lines = out.getvalue().splitlines()
    assert len(lines) == 8 * 500 and len(set(lines)) == 8 * 500
    assert all(line.endswith(f" {MASK}") for line in lines)
