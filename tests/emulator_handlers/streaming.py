"""Streaming handlers for the emulator's tests: a pause the test controls (a held URL), and
deferred callbacks that say when they ran."""

from handlers import call

from runtime import Stream, defer


def _param(event, name: str):
    """From an Invoke API event, or from a Function URL request's query string."""
    return event.get(name) or (event.get("queryStringParameters") or {}).get(name)


def report(event, context):
    """A report line by line; the notification goes out after the last line."""

    def lines():
        yield "first line\n"
        call(_param(event, "held_url"))
        yield "second line\n"

    defer(print, "notified after the last line")
    return Stream(
        lines(),
        status_code=201,
        headers={"Content-Type": "text/plain", "X-Report": "weekly"},
        cookies=["session=abc; Secure", "theme=dark"],
    )


def raw(event, context):
    defer(print, "notified after the last row")
    return Stream((f"row {i}\n" for i in range(3)), content_type="text/plain", http=False)


def fails_mid_stream(event, context):
    def rows():
        yield "partial\n"
        raise ValueError("the source went away")

    defer(print, "this callback is discarded")
    return Stream(rows(), http=bool(_param(event, "http")))


def echo_request(event, context):
    """A Function URL handler answering with what it was given, buffered."""
    return {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["seen=1"],
        "body": f'{{"method": "{event["requestContext"]["http"]["method"]}", '
        f'"path": "{event["rawPath"]}", "query": "{event["rawQueryString"]}"}}',
    }


def one_chunk(event, context):
    """The streamed twin of a handler that returns "ack" at once."""
    return Stream(iter([b'"ack"']), content_type="application/json", http=False)


def sized(event, context):
    """`event["mib"]` MiB in 1 MiB chunks, each made fresh, as text/plain."""
    mib = int(_param(event, "mib"))
    return Stream((bytes(1024 * 1024) for _ in range(mib)), content_type="text/plain", http=False)
