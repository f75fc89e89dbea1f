"""Response streaming: a handler returns `Stream(body)` and the caller reads each chunk as the
body yields it; deferred callbacks run after the last one.

What a Stream means on the wire (`lambda_ack.answer.stream_post` sends it):
- `http=True` (the default) is the Function URL form: a JSON prelude with the status, headers and
  cookies, eight NUL bytes, then the body, as `application/vnd.awslambda.http-integration-response`.
- `http=False` streams the body's bytes as they are, as `content_type`, for callers of the Lambda
  API's InvokeWithResponseStream.

The first body chunk is taken before anything is sent, so an exception before it is an ordinary
error for the caller; after it, the stream ends with the error in its trailers.

This module holds only the class: `from runtime import Stream` must cost nothing at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping, Sequence

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"


class Stream:
    """A streamed answer. `body` is an iterable, iterator, generator or async generator of
    `bytes` (or `str`, sent as UTF-8); it is consumed once, after the handler returns it (or
    passes it to `ack()`)."""

    __slots__ = ("body", "status_code", "headers", "cookies", "content_type", "http")

    def __init__(
        self,
        body: Iterable[bytes | str] | AsyncIterable[bytes | str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        cookies: Sequence[str] | None = None,
        *,
        content_type: str = "application/octet-stream",
        http: bool = True,
    ) -> None:
        if not (hasattr(body, "__iter__") or hasattr(body, "__aiter__")) or isinstance(
            body, (bytes, str)
        ):
            raise TypeError(
                "Stream(body): body must be an iterable or async iterable of bytes or str chunks, "
                f"got {type(body).__name__}"
            )
        if not (content_type.isascii() and content_type.isprintable()):
            raise ValueError(f"Stream(content_type=...) must be printable ASCII: {content_type!r}")
        self.body = body
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.cookies = list(cookies or [])
        self.content_type = content_type
        self.http = http

    def prelude(self) -> bytes:
        """What precedes the body in the HTTP form: the JSON metadata and its delimiter. A
        `Runtime.MarshalError` when the status, headers or cookies are not JSON (a header value
        that is a `datetime`): taken before anything is sent, so the caller gets that error."""
        import json

        meta = {"statusCode": self.status_code, "headers": self.headers, "cookies": self.cookies}
        try:
            return json.dumps(meta, allow_nan=False).encode() + b"\0" * 8
        except (TypeError, ValueError, RecursionError) as e:
            from lambda_ack.errors import MARSHAL_ERROR, Fault

            raise Fault(
                MARSHAL_ERROR, f"Unable to marshal the Stream's status, headers or cookies: {e}"
            ) from None

    def wire_content_type(self) -> str:
        return HTTP_INTEGRATION if self.http else self.content_type
