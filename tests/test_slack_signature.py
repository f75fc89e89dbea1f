"""lambda_ack.slack.signature: what gets through verification, and every way around it that
must not.

Each request goes through the real HTTP event reader first, in the shape Lambda would deliver it,
because that is where header case, duplicates and base64 could open a gap.
"""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_support import FORM, http_event, signature_headers, signed_event

from lambda_ack.cli.local.slack_request import SIGNING_SECRET, sign, slash_command_event
from lambda_ack.slack.signature import InvalidSignature, verify
from lambda_ack.web.http_event import read_request

BODY = b"command=%2Fstart-process&text=hello"
SHAPES = [("2.0", True), ("2.0", False), ("1.0", True), ("1.0", False)]


def check(event: dict, now: float | None = None) -> None:
    verify(read_request(event), SIGNING_SECRET, now=now)


def refused(event: dict, reason: str, now: float | None = None) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        check(event, now)


@pytest.mark.parametrize(("shape", "encode"), SHAPES)
def test_a_signed_request_passes_in_every_shape(shape, encode):
    check(signed_event(BODY, FORM, shape=shape, encode=encode))


def test_the_demo_slash_command_passes():
    check(slash_command_event("x", "http://127.0.0.1:1/r"))


def test_header_names_in_any_case_are_the_same_headers():
    stamp = str(int(time.time()))
    headers = [
        ("x-SLACK-request-TIMESTAMP", stamp),
        ("X-Slack-Signature", sign(SIGNING_SECRET, stamp, BODY)),
    ]
    for shape in ("1.0", "2.0"):
        check(http_event(BODY, headers, shape))


@pytest.mark.parametrize("shape", ["1.0", "2.0"])
def test_forged_and_altered_requests_are_refused(shape):
    refused(signed_event(BODY, FORM, shape=shape, secret="not-the-secret"), "mismatch")
    event = signed_event(BODY, FORM, shape=shape, encode=False)
    event["body"] = event["body"].replace("hello", "hellO")
    refused(event, "mismatch")


@pytest.mark.parametrize("shape", ["1.0", "2.0"])
def test_missing_headers_are_refused(shape):
    stamp, signature = signature_headers(BODY)
    refused(http_event(BODY, [stamp], shape), "missing x-slack-signature")
    refused(http_event(BODY, [signature], shape), "missing x-slack-request-timestamp")
    refused(http_event(BODY, [], shape), "missing")


def test_timestamps_more_than_five_minutes_away_are_refused_both_ways():
    now = 1_700_000_000
    for offset in (-300, 0, 300):
        check(signed_event(BODY, FORM, timestamp=now + offset), now=now)
    refused(signed_event(BODY, FORM, timestamp=now - 301), "stale", now=now)
    refused(signed_event(BODY, FORM, timestamp=now + 301), "future", now=now)
    refused(signed_event(BODY, FORM, timestamp=now + 10**9), "future", now=now)
    refused(signed_event(BODY, FORM), "stale", now=time.time() + 3600)  # the clock's own time


@pytest.mark.parametrize("stamp", ["abc", "1e9", " 1700000000", "-1", "1700000000.5", "١٢٣", ""])
def test_malformed_timestamps_are_refused_not_crashed_on(stamp):
    headers = [
        ("X-Slack-Request-Timestamp", stamp),
        ("X-Slack-Signature", sign(SIGNING_SECRET, stamp, BODY)),
    ]
    refused(http_event(BODY, headers), "malformed X-Slack-Request-Timestamp")


@pytest.mark.parametrize(
    "mangle", [str.upper, lambda s: "v1" + s[2:], lambda s: s[:-1], lambda s: s + " "]
)
def test_malformed_signatures_are_refused(mangle):
    stamp, (_, signature) = signature_headers(BODY)
    refused(
        http_event(BODY, [stamp, ("X-Slack-Signature", mangle(signature))]), "X-Slack-Signature"
    )


@pytest.mark.parametrize("good_first", [True, False])
def test_a_second_signature_is_refused_in_every_shape(good_first):
    (stamp, good) = signature_headers(BODY)
    bad = ("x-slack-signature", "v0=" + "0" * 64)
    pair = [good, bad] if good_first else [bad, good]
    # REST API: both values in multiValueHeaders (and `headers` holds only the last one).
    refused(http_event(BODY, [stamp, *pair], "1.0"), "more than once")
    # HTTP API / Function URL: joined with a comma into one value, which is no signature.
    refused(http_event(BODY, [stamp, *pair], "2.0"), "malformed X-Slack-Signature")
    # One name in two cases inside a single headers dict.
    event = http_event(BODY, [stamp], "2.0")
    event["headers"].update({"X-Slack-Signature": pair[0][1], "x-slack-signature": pair[1][1]})
    refused(event, "more than once")
    # Even the same good value twice: one of them was not Slack's doing.
    refused(http_event(BODY, [stamp, good, good], "1.0"), "more than once")
    refused(http_event(BODY, [stamp, stamp, good], "1.0"), "timestamp sent more than once")


def test_the_signature_covers_the_decoded_bytes_not_their_encoding():
    stamp = str(int(time.time()))
    as_sent = base64.b64encode(BODY)
    over_the_base64 = [
        ("X-Slack-Request-Timestamp", stamp),
        ("X-Slack-Signature", sign(SIGNING_SECRET, stamp, as_sent)),
    ]
    refused(http_event(BODY, over_the_base64, "2.0", encode=True), "mismatch")
    # The same bytes delivered the other way round: plain text whose content is base64.
    refused(http_event(as_sent, signature_headers(BODY), "2.0", encode=False), "mismatch")
    # And a body that decodes to other bytes than those signed.
    event = signed_event(BODY, FORM, encode=True)
    event["body"] = base64.b64encode(BODY + b"&x=1").decode()
    refused(event, "mismatch")


@settings(max_examples=500)
@given(
    stamps=st.lists(st.text(max_size=14) | st.integers(0, 2 * 10**9).map(str), max_size=2),
    signatures=st.lists(st.text(max_size=70) | st.just("v0=" + "a" * 64), max_size=2),
    body=st.binary(max_size=64),
    shape=st.sampled_from(["1.0", "2.0"]),
    now=st.floats(0, 4 * 10**9) | st.none(),
)
def test_verify_raises_only_invalid_signature(stamps, signatures, body, shape, now):
    headers = [("X-Slack-Request-Timestamp", s) for s in stamps]
    headers += [("X-Slack-Signature", s) for s in signatures]
    try:
        check(http_event(body, headers, shape, encode=True), now)
    except InvalidSignature:
        return
    pytest.fail("an unsigned request was accepted")
