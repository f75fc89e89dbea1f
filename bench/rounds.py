"""CPU per warm invocation of several functions on the local emulator, measured side by side.

Each function runs in its own runtime process; the emulator runs in the benchmark's process,
so only the runtime's own CPU (`/proc`, procstat) is counted. The functions are measured in
alternating rounds, so the machine's noise falls on all alike, and the median round of each is
given.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from procstat import cpu_seconds

from lambda_ack.cli.local.emulator import Emulator


def cpu_us_per_invocation(
    functions: dict[str, Callable[[], Emulator]],
    event: object,
    requests: int,
    rounds: int,
    warm: int = 50,
) -> dict[str, float]:
    """`functions`: name → what makes its emulator. Microseconds per invocation, by name."""
    made = {name: make() for name, make in functions.items()}
    try:
        for function in made.values():
            for _ in range(warm):  # imports, first-request caches
                function.invoke(event)
            function.wait_idle()
        samples: dict[str, list[float]] = {name: [] for name in made}
        for _ in range(rounds):
            for name, function in made.items():
                before = cpu_seconds(function.runtime_pid)
                for _ in range(requests):
                    function.invoke(event)
                function.wait_idle()
                used = cpu_seconds(function.runtime_pid) - before
                samples[name].append(used / requests * 1e6)
        return {name: statistics.median(s) for name, s in samples.items()}
    finally:
        for function in made.values():
            function.close()
