"""Output collected from a process through a pipe, and waiting for a line of it.

Lines reach the collector a little after the process wrote them, so whoever needs one waits for
it on the collector's condition (notified at each new piece) rather than reading too early.
"""

from __future__ import annotations

import threading
import time


def wait_for_text(
    cond: threading.Condition, pieces: list[str], text: str, count: int, timeout: float, where: str
) -> str:
    """The joined `pieces` once they hold `text` `count` times; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    with cond:
        while (output := "".join(pieces)).count(text) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not in {where}:\n{output}")
            cond.wait(left)
        return output
