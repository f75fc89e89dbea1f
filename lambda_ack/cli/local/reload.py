"""`emulate --reload`: the function starts afresh after a source file of its project changes.

The watcher compares each file's size and modification time (nanoseconds) a few times a second:
cheap for a project's few hundred files, and no dependency. On a change the emulator lets the
running invocation finish, then stops the runtime process; the next invoke starts a new one,
which imports the new code (a cold start, as after a deployment).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

WATCHED = (".py", ".json", ".toml", ".txt", ".yaml", ".yml", ".cfg", ".ini", ".html", ".j2")
SKIPPED_FOLDERS = {".git", ".venv", "venv", "__pycache__", "dist", "node_modules", ".terraform"}
INTERVAL_S = 0.25


def snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    found = {}
    for path in root.rglob("*"):
        if SKIPPED_FOLDERS & set(path.relative_to(root).parts) or path.suffix not in WATCHED:
            continue
        try:
            info = path.stat()
        except OSError:
            continue  # gone meanwhile
        found[path] = (info.st_mtime_ns, info.st_size)
    return found


def watch(root: Path, restart: Callable[[], None], stop: threading.Event, prog: str) -> None:
    """Watch `root` on a thread until `stop` is set; `restart()` after each change."""

    def loop() -> None:
        seen = snapshot(root)
        while not stop.wait(INTERVAL_S):
            now = snapshot(root)
            changed = sorted(
                str(path.relative_to(root))
                for path in set(now) | set(seen)
                if now.get(path) != seen.get(path)
            )
            seen = now
            if changed:
                restart()
                print(
                    f"{prog}: {', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''} "
                    "changed: the next invoke starts the function afresh",
                    file=sys.stderr,
                    flush=True,
                )

    threading.Thread(target=loop, name="reload", daemon=True).start()
    print(f"{prog}: reloading on changes under {root}", file=sys.stderr, flush=True)
