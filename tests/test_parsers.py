"""Property tests: the core's parsers raise only their documented error, whatever they are fed."""

import json
import socket

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambda_ack.answer import marshal
from lambda_ack.api import Invocation
from lambda_ack.connection import Connection, ConnectionFailed, Response
from lambda_ack.errors import Fault


def exchange(raw: bytes) -> Response:
    """One request over a real socket whose peer answers `raw` and hangs up."""
    ours, peer = socket.socketpair()
    try:
        peer.sendall(raw)
        peer.shutdown(socket.SHUT_WR)
        conn = Connection("peer", 0)
        conn._sock = ours
        return conn.request("POST", "/2018-06-01/runtime/invocation/x/response", b"{}")
    finally:
        ours.close()
        peer.close()


heads = st.sampled_from(
    [
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n",
        b"HTTP/1.0 500 Oops\r\nConnection: close\r\n",
        b"HTTP/1.1 204 No Content\r\n",
        b"garbage\r\n",
        b"",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(head=heads, headers=st.binary(max_size=200), body=st.binary(max_size=2000))
def test_response_reader_returns_or_raises_connection_failed(head, headers, body):
    try:
        response = exchange(head + headers + b"\r\n\r\n" + body)
    except ConnectionFailed:
        return
    assert isinstance(response.status, int) and isinstance(response.body, bytes)


@settings(max_examples=300)
@given(raw=st.binary(max_size=3000))
def test_response_reader_on_arbitrary_bytes(raw):
    try:
        response = exchange(raw)
    except ConnectionFailed:
        return
    assert isinstance(response, Response)


def test_chunked_and_split_answers_are_read_whole():
    body = b"x" * 70000
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:1], body[1:40000], body[40000:])
    )
    response = exchange(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" + chunked + b"0\r\n\r\n"
    )
    assert response.body == body and response.headers["x-a"] == "1"


@given(body=st.binary(max_size=500))
def test_event_decoding_raises_only_unmarshal_error(body):
    try:
        marshal.decode_event(body, "application/json")
    except Fault as e:
        assert e.error_type == "Runtime.UnmarshalError"


def test_deeply_nested_and_invalid_utf8_events_are_unmarshal_errors():
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a": "\xff\xfe"}', b""):
        try:
            marshal.decode_event(body, "application/json")
        except Fault as e:
            assert e.error_type == "Runtime.UnmarshalError"
        else:
            raise AssertionError(f"{body[:20]!r} decoded")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


@given(value=json_values | st.sets(st.integers()) | st.binary())
def test_result_encoding_gives_bytes_or_marshal_error(value):
    try:
        body, content_type = marshal.encode_result(value)
    except Fault as e:
        assert e.error_type == "Runtime.MarshalError"
        return
    assert isinstance(body, bytes)
    if content_type == "application/json":
        json.loads(body)  # what we post parses back


@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "lambda-runtime-aws-request-id",
                "lambda-runtime-deadline-ms",
                "lambda-runtime-trace-id",
                "content-type",
            ]
        ),
        st.text(max_size=30),
    )
)
def test_invocation_headers_never_raise(headers):
    invocation = Invocation(headers, b"{}")
    assert isinstance(invocation.deadline_ms, int)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(alphabet="0123456789", max_size=6000) | st.text(max_size=50))
def test_any_deadline_header_is_a_deadline_or_the_default(value):
    """Lambda sends 13 digits; a few hundred once crashed the watchdog, a few thousand the
    parse (Python refuses int() of more than 4,300 digits)."""
    import time

    before = int(time.time() * 1000)
    deadline = Invocation({"lambda-runtime-deadline-ms": value}, b"{}").deadline_ms
    if value.isascii() and value.isdigit() and len(value) <= 16:
        assert deadline == int(value)
    else:
        assert before + 3000 <= deadline <= int(time.time() * 1000) + 3000


def test_setting_a_fresh_trace_id_per_invocation_does_not_grow_memory():
    """glibc's setenv keeps every value ever set; the runtime must not go through it."""
    import os
    import uuid

    from lambda_ack.loop import _set_trace_id

    def rss_kib() -> int:
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])

    _set_trace_id("Root=1-warm-up")
    before = rss_kib()
    for _ in range(50_000):
        _set_trace_id(f"Root=1-{uuid.uuid4().hex};Parent={uuid.uuid4().hex[:16]};Sampled=0")
    assert rss_kib() - before < 1024  # the setenv path grows ~7 MB here
    assert os.environ["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    _set_trace_id(None)
    assert "_X_AMZN_TRACE_ID" not in os.environ


def test_decimals_are_written_as_their_own_text_as_the_managed_runtime_does():
    from decimal import Decimal

    result = {
        "price": Decimal("19.90"),
        "hundred": Decimal("1E+2"),
        "pi": Decimal("3.14159265358979323846264338327950288"),
        "edges": [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("-0")],
        "text": "19.90",
    }
    body, content_type = marshal.encode_result(result)
    assert content_type == "application/json"
    assert body == (
        b'{"price": 19.90, "hundred": 1E+2, "pi": 3.14159265358979323846264338327950288, '
        b'"edges": [Infinity, -Infinity, NaN, -0], "text": "19.90"}'
    )
    assert marshal.encode_result(Decimal("0.1"))[0] == b"0.1"


@given(
    st.recursive(
        st.decimals(allow_nan=False) | st.text(max_size=5) | st.integers(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=12,
    )
)
def test_any_result_holding_decimals_parses_back_to_the_same_numbers(value):
    from decimal import Decimal

    body, _ = marshal.encode_result(value)
    parsed = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    assert parsed == value  # Decimal equality is numeric: 1E+2 == 100, 5 == Decimal(5)


def _stdlib_decode(body: bytes) -> tuple[str, object]:
    try:
        return "value", json.loads(body)
    except (ValueError, RecursionError) as e:
        return "error", f"Unable to unmarshal input: {e}"


json_texts = st.one_of(
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.text(max_size=40),
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"])
padding = st.sampled_from(["", " ", "\n", " \t\r\n"])


@settings(max_examples=400)
@given(text=json_texts, encoding=encodings, before=padding, after=padding)
@example(text='{"a": 1} {"b": 2}', encoding="utf-8", before="", after="")  # two values
@example(text="[1, 2]x", encoding="utf-8", before="", after="")  # trailing bytes
@example(text='"\\ud800"', encoding="utf-8", before="", after="")  # an escaped lone surrogate
def test_event_decoding_agrees_with_json_loads(text, encoding, before, after):
    """The fast path (one C scan of a UTF-8 body) gives what `json.loads` gives, value or error,
    for any encoding `json.loads` detects and any whitespace around the value."""
    try:
        body = (before + text + after).encode(encoding)
    except UnicodeEncodeError:  # a lone surrogate has no UTF encoding
        return
    kind, expected = _stdlib_decode(body)
    try:
        got = ("value", marshal.decode_event(body, "application/json"))
    except Fault as e:
        got = ("error", e.message)
    assert got[0] == kind
    if kind == "value":  # NaN is never equal to itself: compare the JSON again
        assert json.dumps(got[1]) == json.dumps(expected)
    else:
        assert got[1] == expected


@settings(max_examples=400)
@given(value=json_values)
def test_result_encoding_agrees_with_the_json_encoder(value):
    """The encoder built per call writes exactly what `json.JSONEncoder.encode` writes."""
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=True)
    assert marshal.encode_result(value) == (encoder.encode(value).encode(), "application/json")


def test_a_failed_encoding_leaves_nothing_behind_for_the_next():
    """A result that fails part-way (after its containers were entered) is a MarshalError, and
    the same containers encode once the offending value is gone: no state survives the failure."""
    inner = {"fine": [1, 2]}
    outer = [inner, {"bad": object()}]
    for _ in range(2):
        try:
            marshal.encode_result(outer)
        except Fault as e:
            assert e.error_type == "Runtime.MarshalError"
        else:
            raise AssertionError("an object() was encoded")
    outer.pop()
    assert marshal.encode_result(outer)[0] == b'[{"fine": [1, 2]}]'
    loop = [1]
    loop.append(loop)
    try:
        marshal.encode_result(loop)
    except Fault as e:
        assert "Circular reference" in e.message
    else:
        raise AssertionError("a circular list was encoded")


@given(
    line=st.sampled_from(
        [
            b"HTTP/1.1 202 Accepted",
            b"HTTP/1.1 202",
            b"HTTP/1.0 404 Not Found",
            b"HTTP/1.1 2020 Accepted",
            b"HTTP/1.1  202 Accepted",
            b"HTTP/1.1 20x Accepted",
            b"HTTP/1.1 \xb9\xb2\xb3 OK",
            b"HTTP/2 202 Accepted",
            b"http/1.1 202 Accepted",
        ]
    )
)
def test_status_lines_are_three_digits_after_the_version(line):
    """A status line is `HTTP/1.x`, a space, three ASCII digits, then a space and a reason or
    nothing; anything else is the peer breaking the protocol."""
    valid = line in (b"HTTP/1.1 202 Accepted", b"HTTP/1.1 202", b"HTTP/1.0 404 Not Found")
    try:
        response = exchange(line + b"\r\nContent-Length: 0\r\n\r\n")
    except ConnectionFailed:
        assert not valid
        return
    assert valid and response.status == int(line[9:12])


@settings(max_examples=400)
@given(value=json_values | st.dictionaries(st.integers() | st.booleans(), st.text()))
def test_json_c_writes_what_json_dumps_writes(value):
    """The runtime writes JSON without the `json` package (`lambda_ack.json_c`): byte for byte
    what `json.dumps` writes, in both ASCII modes, with and without a `default`, and the same
    error when it cannot (an object without `default`, NaN with `allow_nan=False`)."""
    from lambda_ack import json_c

    for ensure_ascii in (True, False):
        assert json_c.dumps(value, ensure_ascii=ensure_ascii) == json.dumps(
            value, ensure_ascii=ensure_ascii
        )
    odd = {"when": object(), "value": value}
    assert json_c.dumps(odd, default=str) == json.dumps(odd, default=str)

    def outcome(dumps, obj) -> str:
        try:
            return dumps(obj, allow_nan=False)
        except (TypeError, ValueError) as e:
            return f"{type(e).__name__}: {e}"

    for obj in (value, odd):  # NaN's ValueError; without a default, the TypeError's words
        assert outcome(json_c.dumps, obj) == outcome(json.dumps, obj)
