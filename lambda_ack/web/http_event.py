"""HTTP requests as Lambda delivers them, and the HTTP answers Lambda expects back.

One reader for every HTTP front door a function can have: Function URLs and API Gateway HTTP APIs
(payload format 2.0), API Gateway REST APIs and ALB (format 1.0). Webhook receivers (Slack, and
anything else that signs its requests) need the exact bytes that were sent, so the body is
returned raw, base64 already undone, and nothing is parsed that the caller did not ask for.

Decisions a caller can rely on:
- Header names are case-insensitive. Every value of a header is kept: format 1.0 gives them in
  `multiValueHeaders`, format 2.0 joins repeated headers with commas into one value, and a dict
  that spells one name in two cases counts as two values. `Headers.get` joins values with `,`
  (as 2.0 does); a caller that must trust a header uses `Headers.get_all` and insists on one.
- A text body (`isBase64Encoded` false) is encoded as UTF-8, which gives back the bytes sent for
  any UTF-8 request; that is how Lambda produced the text in the first place.
- Cookies that format 2.0 moves out into `cookies` are put back as one `cookie` header.
- Anything that is not a readable HTTP event raises `MalformedEvent`, and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import parse_qs

__all__ = ["Headers", "MalformedEvent", "Request", "Response", "read_request", "to_lambda"]


class MalformedEvent(ValueError):
    """The event is not an HTTP request in a shape Lambda produces; the message says why."""


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued request headers; names are stored lower-cased."""

    __slots__ = ("_values",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name.lower(), []).append(value)

    def __getitem__(self, name: str) -> str:
        return ",".join(self._values[name.lower()])

    def get_all(self, name: str) -> list[str]:
        """Every value sent under `name`, in order; empty when it was not sent."""
        return list(self._values.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({self._values!r})"


class Request:
    """One HTTP request; `body` is exactly the bytes sent (base64 undone, nothing parsed).

    `format` is "2.0" (Function URL, HTTP API) or "1.0" (REST API, ALB). A plain class rather
    than a dataclass: importing `dataclasses` would add milliseconds to every cold start.
    """

    __slots__ = ("method", "path", "headers", "body", "query", "format")

    def __init__(
        self,
        method: str,
        path: str,
        headers: Headers,
        body: bytes,
        query: dict[str, list[str]] | None = None,
        format: str = "2.0",
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.query = query if query is not None else {}
        self.format = format

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} {len(self.body)} bytes, format {self.format}>"

    @property
    def content_type(self) -> str:
        """The media type alone, lower-cased (`application/json`), or `""` when absent."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def read_request(event: object) -> Request:
    """The HTTP request inside a Lambda event; `MalformedEvent` if there is none."""
    if not isinstance(event, dict):
        raise MalformedEvent(f"an HTTP event is a JSON object, not {type(event).__name__}")
    if event.get("version") == "2.0":
        return _read_v2(event)
    if "httpMethod" in event:
        return _read_v1(event)
    raise MalformedEvent("not an HTTP event: no version 2.0 and no httpMethod")


def _read_v2(event: dict) -> Request:
    http = _field(_field(event, "requestContext", dict), "http", dict)
    pairs = list(_pairs(_field(event, "headers", dict, optional=True)))
    cookies = _field(event, "cookies", list, optional=True) or []
    if cookies:
        if not all(isinstance(c, str) for c in cookies):
            raise MalformedEvent("cookies must be strings")
        pairs.append(("cookie", "; ".join(cookies)))
    raw_query = _field(event, "rawQueryString", str, optional=True) or ""
    return Request(
        method=_field(http, "method", str).upper(),
        path=_field(event, "rawPath", str),
        headers=Headers(pairs),
        body=body_of(event),
        query=parse_qs(raw_query, keep_blank_values=True),
        format="2.0",
    )


def _read_v1(event: dict) -> Request:
    multi = _field(event, "multiValueHeaders", dict, optional=True)
    single = _field(event, "headers", dict, optional=True)
    headers = _multi_pairs(multi) if multi else _pairs(single)
    multi_query = _field(event, "multiValueQueryStringParameters", dict, optional=True)
    if multi_query:
        query_pairs = _multi_pairs(multi_query)
    else:
        query_pairs = _pairs(_field(event, "queryStringParameters", dict, optional=True))
    query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query.setdefault(name, []).append(value)
    return Request(
        method=_field(event, "httpMethod", str).upper(),
        path=_field(event, "path", str, optional=True) or "/",
        headers=Headers(headers),
        body=body_of(event),
        query=query,
        format="1.0",
    )


def body_of(event: dict) -> bytes:
    """The exact bytes sent, base64 undone; `MalformedEvent` for a body no front door writes."""
    body = _field(event, "body", str, optional=True) or ""
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as e:
            raise MalformedEvent(f"isBase64Encoded is set, the body is not base64: {e}") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEvent("the text body holds characters UTF-8 cannot encode") from None


def _field(obj: dict, name: str, kind: type, optional: bool = False):
    value = obj.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind):
        raise MalformedEvent(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _pairs(mapping: dict | None) -> list[tuple[str, str]]:
    pairs = []
    for name, value in (mapping or {}).items():
        if value is None:
            continue
        if not isinstance(name, str) or not isinstance(value, str):
            raise MalformedEvent(f"header or parameter {name!r} is not a string")
        pairs.append((name, value))
    return pairs


def _multi_pairs(mapping: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, values in mapping.items():
        if values is None:
            continue
        if not isinstance(values, list):
            raise MalformedEvent(f"multi-value entry {name!r} is not a list")
        for value in values:
            pairs += _pairs({name: value})
    return pairs


class Response:
    """An HTTP answer. `body` may be text, bytes (sent base64-encoded) or anything JSON can encode
    (sent as `application/json`); `None` is an empty body."""

    __slots__ = ("status", "body", "headers")

    def __init__(
        self, status: int = 200, body: object = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def to_lambda(result: object) -> dict:
    """The dict Lambda turns into an HTTP answer, from a `Response` or a bare body.

    A bare body is answered 200 (`None`: empty; `str`: text/plain; `bytes`: application/octet-
    stream; anything else: JSON). Headers given on a `Response` win over these defaults.
    """
    response = result if isinstance(result, Response) else Response(body=result)
    body = response.body
    encoded = False
    if body is None:
        text, content_type = "", None
    elif isinstance(body, str):
        text, content_type = body, "text/plain; charset=utf-8"
    elif isinstance(body, bytes | bytearray):
        text, content_type = base64.b64encode(body).decode("ascii"), "application/octet-stream"
        encoded = True
    else:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        content_type = "application/json"
    headers = {"content-type": content_type} if content_type else {}
    headers.update({name.lower(): value for name, value in response.headers.items()})
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": text,
        "isBase64Encoded": encoded,
    }
