"""What the kernel says a runtime process costs, read from `/proc`.

CPU comes from `/proc/PID/task/*/schedstat` (nanoseconds of run time per thread, summed): the
`utime + stime` of `/proc/PID/stat` covers the same threads but in 10 ms clock ticks, too coarse
for a phase of a few hundred milliseconds. Per-thread figures lose threads that have already
exited, so `cpu_ticks_seconds` is kept as the cross-check that nothing went missing.
"""

from __future__ import annotations

import os

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by the live threads of `pid`, to the nanosecond."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # the thread ended between listing and reading
            pass
    return total / 1e9


def cpu_ticks_seconds(pid: int) -> float:
    """User plus system CPU time of every thread of `pid`, ended ones included, in ticks."""
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
