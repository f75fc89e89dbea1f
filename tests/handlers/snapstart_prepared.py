"""What a restored environment holds before its first invocation, seen from an after-restore
hook: the runtime's threads, whether the IDNA codec is loaded, how many objects the garbage
collector no longer walks. Nothing here connects to a
host by name, so only the runtime can have loaded the codec."""

import gc
import sys
import threading

from snapshot_restore_py import register_after_restore

seen: dict[str, object] = {}


@register_after_restore
def look():
    seen["threads"] = sorted(thread.name for thread in threading.enumerate())
    seen["idna_loaded"] = "encodings.idna" in sys.modules
    seen["objects_set_aside"] = gc.get_freeze_count()


def handler(event, context):
    return seen
