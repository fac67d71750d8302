"""Whether a process is alive, the same answer for every caller.

Why one function: the artifact store and the supervisor each had their own, and they
disagreed on zombies (an exited child not yet reaped still answers `kill(pid, 0)`), so a
dead writer's lock or a dead supervisor's published state looked alive to one and not the
other. A zombie is dead here.
"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (checked without spawning anything)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists; it is someone else's
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[-1].split()
        return not fields or fields[0] != b"Z"
    except OSError:
        return True  # no /proc (not Linux): kill(pid, 0) is all there is
