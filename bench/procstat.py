"""What the kernel says a runtime process costs, read from `/proc`.

CPU is `utime + stime` of `/proc/PID/stat`: the process's total over all its threads, live and
exited, in clock ticks (10 ms here). Per-thread `schedstat` would be finer but reads zero on
kernels without schedstats, as on this machine, so the benchmark makes up for the coarse tick
with enough invocations per sample instead.
"""

from __future__ import annotations

import os

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by every thread of `pid`."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # Fields after the command name, which may itself hold spaces or parentheses.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime (fields 14, 15)


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the largest resident set `pid` has had since it started."""
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")
