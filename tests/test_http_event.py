"""lambda_ack.web.http_event: one reader for every Lambda HTTP event shape, and the answers back."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_support import FORM, command_body, http_event, json_values, signature_headers

from lambda_ack.cli.local.slack_request import SIGNING_SECRET, slash_command_event
from lambda_ack.slack.signature import verify
from lambda_ack.web.http_event import (
    Headers,
    MalformedEvent,
    Request,
    Response,
    read_request,
    to_lambda,
)

SHAPES = [("2.0", True), ("2.0", False), ("1.0", True), ("1.0", False)]
RAW = "task=caf\u00e9 & co&n=1".encode()


@pytest.mark.parametrize(("shape", "encode"), SHAPES)
def test_every_shape_gives_the_same_request(shape, encode):
    headers = [("Content-Type", FORM), ("X-Custom", "a")]
    event = http_event(RAW, headers, shape, encode, path="/slack/commands")
    if shape == "2.0":
        event["rawQueryString"] = "a=1&a=2&b="
    else:
        event["multiValueQueryStringParameters"] = {"a": ["1", "2"], "b": [""]}

    request = read_request(event)

    assert request.body == RAW
    assert request.method == "POST" and request.path == "/slack/commands"
    assert request.format == shape
    assert request.content_type == FORM
    assert request.headers["x-custom"] == request.headers["X-CUSTOM"] == "a"
    assert request.query == {"a": ["1", "2"], "b": [""]}


def front_door_event(door: str, body: bytes, headers: dict[str, str], encode: bool) -> dict:
    """A whole event as each front door builds it, with the fields the reader must step over."""
    text = base64.b64encode(body).decode() if encode else body.decode()
    context = {"accountId": "123456789012", "requestId": "r-1", "stage": "$default"}
    if door == "rest-api":
        return {
            "resource": "/slack",
            "path": "/slack",
            "httpMethod": "POST",
            "headers": {"Host": "abc.execute-api.eu-west-1.amazonaws.com", **headers},
            "multiValueHeaders": {
                "Host": ["abc.execute-api.eu-west-1.amazonaws.com"],
                **{name: [value] for name, value in headers.items()},
            },
            "queryStringParameters": {"team": "T1"},
            "multiValueQueryStringParameters": {"team": ["T1"]},
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {**context, "stage": "prod", "httpMethod": "POST", "path": "/prod"},
            "body": text,
            "isBase64Encoded": encode,
        }
    http = {"method": "POST", "path": "/slack", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"}
    event = {
        "version": "2.0",
        "routeKey": "$default" if door == "function-url" else "POST /slack",
        "rawPath": "/slack",
        "rawQueryString": "team=T1",
        "headers": {name.lower(): value for name, value in headers.items()},
        "queryStringParameters": {"team": "T1"},
        "requestContext": {**context, "http": http, "timeEpoch": 1700000000000},
        "body": text,
        "isBase64Encoded": encode,
    }
    if door == "function-url":
        event["requestContext"]["domainName"] = "abcdef.lambda-url.eu-west-1.on.aws"
    else:
        event["requestContext"]["routeKey"] = "POST /slack"
        event["pathParameters"] = {}
    return event


@pytest.mark.parametrize("encode", [True, False], ids=["base64", "text"])
@pytest.mark.parametrize("door", ["function-url", "http-api", "rest-api"])
def test_each_front_door_delivers_the_signed_bytes(door, encode):
    body = command_body("caf\u00e9 report", "http://127.0.0.1:1/r")
    headers = dict(signature_headers(body))
    headers["Content-Type"] = FORM
    request = read_request(front_door_event(door, body, headers, encode))

    assert request.body == body
    assert (request.method, request.path, request.query) == ("POST", "/slack", {"team": ["T1"]})
    assert request.format == ("1.0" if door == "rest-api" else "2.0")
    assert request.content_type == FORM  # REST keeps "Content-Type" as sent; 2.0 lower-cases it
    verify(request, SIGNING_SECRET)  # the signature holds over what the reader returned


def test_binary_bodies_survive_base64():
    raw = bytes(range(256))
    for shape in ("2.0", "1.0"):
        assert read_request(http_event(raw, [], shape, encode=True)).body == raw


def test_the_demo_slash_command_is_read():
    request = read_request(slash_command_event("x", "http://127.0.0.1:1/r"))
    assert request.content_type == FORM and b"command=%2Fstart-process" in request.body


def test_rest_api_single_value_fields_without_multi_value_ones():
    event = http_event(b"{}", [("Content-Type", "application/json")], "1.0")
    del event["multiValueHeaders"]
    event["queryStringParameters"] = {"q": "1"}
    request = read_request(event)
    assert request.content_type == "application/json" and request.query == {"q": ["1"]}


def test_repeated_headers_keep_every_value():
    v1 = read_request(http_event(b"", [("X-A", "1"), ("x-a", "2")], "1.0"))
    v2 = read_request(http_event(b"", [("X-A", "1"), ("x-a", "2")], "2.0"))
    same_dict = read_request({**http_event(b"", [], "2.0"), "headers": {"X-A": "1", "x-a": "2"}})

    assert v1.headers.get_all("x-a") == ["1", "2"] and v1.headers["X-A"] == "1,2"
    assert v2.headers.get_all("x-a") == ["1,2"]  # 2.0 joined them already: one value
    assert same_dict.headers.get_all("X-a") == ["1", "2"]


def test_cookies_of_format_2_come_back_as_a_header():
    event = {**http_event(b"", [], "2.0"), "cookies": ["a=1", "b=2"]}
    assert read_request(event).headers["cookie"] == "a=1; b=2"


def test_headers_mapping():
    headers = Headers([("A", "1"), ("b", "2")])
    assert dict(headers) == {"a": "1", "b": "2"} and "B" in headers and 3 not in headers
    assert headers.get_all("missing") == [] and len(headers) == 2


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([], "JSON object"),
        ({"hello": "world"}, "not an HTTP event"),
        ({"version": "2.0", "rawPath": "/"}, "requestContext"),
        ({**http_event(b"x", [], "2.0"), "isBase64Encoded": True, "body": "!!"}, "base64"),
        ({**http_event(b"x", [], "2.0"), "body": "\ud800"}, "UTF-8"),
        ({**http_event(b"", [], "2.0"), "headers": {"a": 1}}, "not a string"),
        ({**http_event(b"", [], "2.0"), "headers": []}, "headers must be a dict"),
        ({**http_event(b"", [], "1.0"), "multiValueHeaders": {"a": "1"}}, "not a list"),
        ({**http_event(b"", [], "1.0"), "httpMethod": None}, "httpMethod"),
        ({**http_event(b"", [], "2.0"), "cookies": [1]}, "cookies"),
    ],
)
def test_malformed_events_raise_malformed_event(event, reason):
    with pytest.raises(MalformedEvent, match=reason):
        read_request(event)


def test_answers_in_lambda_shape():
    assert to_lambda(None) == {
        "statusCode": 200,
        "headers": {},
        "body": "",
        "isBase64Encoded": False,
    }
    text = to_lambda(Response(401, "no", {"X-Slack-No-Retry": "1"}))
    assert text["statusCode"] == 401 and text["body"] == "no"
    assert text["headers"] == {"content-type": "text/plain; charset=utf-8", "x-slack-no-retry": "1"}
    as_json = to_lambda({"text": "caf\u00e9"})
    assert json.loads(as_json["body"]) == {"text": "caf\u00e9"}
    assert as_json["headers"]["content-type"] == "application/json"
    binary = to_lambda(b"\xff\x00")
    assert binary["isBase64Encoded"] and base64.b64decode(binary["body"]) == b"\xff\x00"
    custom = to_lambda(Response(200, "<p>", {"Content-Type": "text/html"}))
    assert custom["headers"] == {"content-type": "text/html"}


# Property tests: whatever the event, the reader returns a Request or raises MalformedEvent.
FIELDS = [
    "version",
    "httpMethod",
    "rawPath",
    "path",
    "rawQueryString",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "cookies",
    "requestContext",
    "body",
    "isBase64Encoded",
]


def read_or_malformed(event: object) -> None:
    try:
        request = read_request(event)
    except MalformedEvent:
        return
    assert isinstance(request, Request) and isinstance(request.body, bytes)
    for name in request.headers:
        assert all(isinstance(v, str) for v in request.headers.get_all(name))


@settings(max_examples=300)
@given(event=json_values)
def test_reader_on_any_json(event):
    read_or_malformed(event)


@settings(max_examples=500)
@given(
    shape=st.sampled_from(["2.0", "1.0"]),
    body=st.binary(max_size=64),
    encode=st.booleans(),
    changes=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
    nested=st.dictionaries(st.sampled_from(["http", "method"]), json_values, max_size=2),
)
def test_reader_on_damaged_real_events(shape, body, encode, changes, nested):
    event = http_event(body if encode else body.hex().encode(), [("A", "1")], shape, encode)
    event.update(changes)
    if isinstance(event.get("requestContext"), dict):
        event["requestContext"].update(nested)
    read_or_malformed(event)
