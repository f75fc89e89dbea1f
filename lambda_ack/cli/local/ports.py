"""Loopback ports for local Lambdas: a free one, or a clear word when the one asked for is taken.

Another program (a Docker-mapped RIE, a dev server) often holds 9000 on a developer's machine;
that must end the command with one line naming the option that picks another port, not with a
stack trace from whichever server tried to bind it.
"""

from __future__ import annotations

import socket


class PortTaken(Exception):
    """The port asked for is held by another process; the message names the option to change."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_free(port: int, option: str) -> None:
    """Raise PortTaken unless `port` can be bound on 127.0.0.1 right now.

    SO_REUSEADDR as the servers themselves set it: connections of an earlier run still in
    TIME_WAIT do not make a port look taken, a listening socket does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            raise taken(port, option, e) from None


def taken(port: int, option: str, error: OSError) -> PortTaken:
    return PortTaken(
        f"port {port} on 127.0.0.1 is not available ({error.strerror or error}); "
        f"pick another with {option} N (0: any free port)"
    )
