"""Which process is at the other end of a loopback TCP connection (Linux `/proc`).

With several workers asking `/next` at once (Lambda Managed Instances), a `/next` ends the
invocation that the same worker had before. A worker may come back on a new connection (after a
streamed response, or when its client reconnects), so the emulator tells workers apart by
process, not by connection: the connection's socket inode, then the process of the runtime's
group holding it.
"""

from __future__ import annotations

import os
import socket


def pid_of(conn: socket.socket, group: int) -> int | None:
    """The pid, among the processes of process group `group`, that holds the peer's end of
    `conn`; None when it cannot be found (the peer has gone)."""
    peer_host, peer_port = conn.getpeername()[:2]
    local_port = conn.getsockname()[1]
    inode = _inode(peer_port, local_port, ":" in peer_host)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in group_members(group):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
        except OSError:
            continue  # it exited while we looked
    return None


def _inode(local_port: int, remote_port: int, ipv6: bool) -> str | None:
    """The inode of the socket whose own port is `local_port`, connected to `remote_port`."""
    table = "/proc/net/tcp6" if ipv6 else "/proc/net/tcp"
    with open(table) as rows:
        next(rows)
        for row in rows:
            fields = row.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == local_port
                and int(remote.rsplit(":", 1)[1], 16) == remote_port
            ):
                return fields[9]
    return None


def group_members(group: int) -> list[int]:
    """The pids of process group `group` (the runtime and every process it started)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # after the name: state, ppid, pgrp
            members.append(int(entry))
    return members
