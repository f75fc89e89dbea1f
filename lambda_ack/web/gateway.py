"""Lambda's HTTP events as a web app's server would see them, and the app's answers back in the
shape each front door expects: one reading for the ASGI and the WSGI adapters.

Three shapes reach a function: payload 2.0 (Function URLs, HTTP APIs), 1.0 (REST APIs, and HTTP
APIs asked for 1.0) and ALB. Where they differ, the conventions are those users already rely on
from Mangum, so an app moved from it sees the same requests and gives the same answers:
- The path is percent-decoded; `base_path` (Mangum's `api_gateway_base_path`) is taken off its
  start, for a REST API stage or a custom domain's mapping.
- The query string is as the client sent it: 2.0's `rawQueryString`, and ALB's parameters,
  which it passes on still encoded (Mangum decodes and encodes them again, so a `%20` becomes a
  `+`: the same text to the app's parser). REST APIs give decoded parameters, which are encoded
  again (`urlencode`, repeated keys kept), as Mangum and apig-wsgi do.
- Every header value is kept, in order: a header sent twice is two headers (2.0 has already
  joined repeats with commas). 2.0's `cookies` become one `cookie` header.
- Answers: a body is sent as text when its content type is a text type (Mangum's list), base64
  otherwise; 2.0 answers carry `Set-Cookie` in `cookies` and join repeated headers with commas;
  1.0 answers carry repeated headers in `multiValueHeaders`; ALB answers do too when the event
  came with multi-value headers, and otherwise repeat a header under differently cased names.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlencode

from lambda_ack.web.http_event import MalformedEvent, body_of

# Content types whose bodies go back as text; any other body is base64 (Mangum's list).
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/vnd.api+json",
    "application/vnd.oai.openapi",
)


class Incoming:
    """One request, read from its event. `shape` is "2.0", "1.0" or "alb"; `headers` are
    (lower-cased name, value) pairs; `query` is the query string as the app receives it."""

    __slots__ = (
        "shape",
        "method",
        "path",
        "query",
        "headers",
        "body",
        "source_ip",
        "multi_value",
        "event",
        "_last",
    )

    def __init__(self, event: dict, base_path: str = "/") -> None:
        self.event = event
        context = event.get("requestContext")
        if not isinstance(context, dict):
            raise MalformedEvent("not an HTTP event: no requestContext")
        if "elb" in context:
            self.shape = "alb"
        elif event.get("version") == "2.0":
            self.shape = "2.0"
        elif "httpMethod" in event:
            self.shape = "1.0"
        else:
            raise MalformedEvent("not an HTTP event: no version 2.0, no httpMethod, no elb")
        self.multi_value = isinstance(event.get("multiValueHeaders"), dict)
        self.body = body_of(event)
        if self.shape == "2.0":
            http = context.get("http") or {}
            self.method = str(http.get("method", "GET")).upper()
            path = http.get("path") or event.get("rawPath") or "/"
            self.query = str(event.get("rawQueryString") or "")
            self.headers = _pairs(event.get("headers"))
            cookies = event.get("cookies")
            if cookies:
                self.headers = [(k, v) for k, v in self.headers if k != "cookie"]
                self.headers.append(("cookie", "; ".join(map(str, cookies))))
            self.source_ip = http.get("sourceIp")
        else:
            self.method = str(event.get("httpMethod", "GET")).upper()
            path = event.get("path") or "/"
            self.headers = _multi(event["multiValueHeaders"]) if self.multi_value else []
            if not self.headers:
                self.headers = _pairs(event.get("headers"))
            self.query = _query(event, as_sent=self.shape == "alb")
            if self.shape == "alb":
                self.source_ip = self.header("x-forwarded-for") or ""
            else:
                self.source_ip = (context.get("identity") or {}).get("sourceIp")
        self.path = _strip(str(path), base_path)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The last value sent under `name`, as servers take a header they expect once."""
        try:
            last = self._last
        except AttributeError:
            last = self._last = dict(self.headers)
        return last.get(name, default)

    @property
    def server(self) -> tuple[str, int]:
        host = self.header("host") or "mangum"
        if ":" in host:
            name, _, port = host.rpartition(":")
            return name, int(port) if port.isdigit() else 80
        port = self.header("x-forwarded-port") or "80"
        return host, int(port) if port.isdigit() else 80

    @property
    def scheme(self) -> str:
        return self.header("x-forwarded-proto") or "https"


def answer(
    incoming: Incoming,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    text_types: tuple[str, ...] = TEXT_TYPES,
) -> dict:
    """The dict Lambda turns into the HTTP answer, for the shape the request came in."""
    names: dict[str, list[str]] = {}
    for name, value in headers:
        names.setdefault(name.lower(), []).append(value)
    if incoming.shape == "2.0":
        cookies = names.pop("set-cookie", [])
        joined = {name: ",".join(values) for name, values in names.items()}
        joined.setdefault("content-type", "application/json")
        text, encoded = _encode(body, joined.get("content-type", ""), text_types)
        out: dict = {"statusCode": status, "headers": joined, "body": text}
        if cookies:
            out["cookies"] = cookies
        out["isBase64Encoded"] = encoded
        return out
    single = {name: values[-1] for name, values in names.items()}
    text, encoded = _encode(body, single.get("content-type", ""), text_types)
    out = {"statusCode": status, "body": text, "isBase64Encoded": encoded}
    if incoming.shape == "1.0":
        out["headers"] = {name: values[0] for name, values in names.items() if len(values) == 1}
        out["multiValueHeaders"] = {n: vs for n, vs in names.items() if len(vs) > 1}
    elif incoming.multi_value:
        out["multiValueHeaders"] = names
    else:
        out["headers"] = {
            cased: value for name, values in names.items() for cased, value in _cased(name, values)
        }
    return out


def _encode(body: bytes, content_type: str, text_types: tuple[str, ...]) -> tuple[str, bool]:
    if not body:
        return "", False
    if any(kind in content_type for kind in text_types):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _cased(name: str, values: list[str]) -> list[tuple[str, str]]:
    """A header repeated in a single-value map: each value under its own casing of the name
    (`set-cookie`, `Set-cookie`, `sEt-cookie`...), which ALB sends as repeated headers."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    out = []
    for n, value in enumerate(values):
        chars = list(name)
        for bit, i in enumerate(letters):
            if n >> bit & 1:
                chars[i] = chars[i].upper()
        out.append(("".join(chars), value))
    return out


def _pairs(mapping: object) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    return [(str(k).lower(), str(v)) for k, v in mapping.items() if v is not None]


def _multi(mapping: dict) -> list[tuple[str, str]]:
    return [
        (str(k).lower(), str(v))
        for k, values in mapping.items()
        if isinstance(values, list)
        for v in values
    ]


def _query(event: dict, as_sent: bool) -> str:
    """ALB's parameters are still encoded as the client sent them, and go on so; a REST API's
    are decoded, and are encoded again."""
    params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters")
    if not isinstance(params, dict) or not params:
        return ""
    pairs = [
        (str(name), str(value))
        for name, values in params.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    if as_sent:
        return "&".join(f"{name}={value}" for name, value in pairs)
    return urlencode(pairs)


def _strip(path: str, base_path: str) -> str:
    if not path:
        return "/"
    if base_path and base_path != "/":
        base = base_path if base_path.startswith("/") else f"/{base_path}"
        if path.startswith(base):
            path = path[len(base) :]
    return unquote(path)
