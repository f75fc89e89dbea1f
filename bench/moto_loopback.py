"""moto's standalone server on loopback for the benchmarks that talk to AWS (bench/handoff.py,
bench/dedupe.py), with the process's AWS settings pointed at it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def moto_on_loopback() -> Iterator[str]:
    """The server's URL while it runs; `AWS_ENDPOINT_URL` and stand-in credentials are set in
    `os.environ`, so boto3 clients and fresh interpreters started from here use it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-not-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        server.stop()
