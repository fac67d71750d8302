"""Whether a process is alive, the same answer for every caller.

Why one function: the artifact store and the supervisor each had their own, and they
disagreed on zombies (an exited child not yet reaped still answers `kill(pid, 0)`), so a
dead writer's lock or a dead supervisor's published state looked alive to one and not the
other. A zombie is dead here.

`wait_exit` waits for a process to end without polling where the kernel can say so (a
pidfd): a supervisor watching 64 lanes used to wake 128 times a second to ask `pid_alive`
(issue 18: most of the idle cockpit's CPU), and noticed a death up to a poll late.
"""

from __future__ import annotations

import asyncio
import contextlib
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


async def wait_exit(pid: int, timeout: float, *, poll: float = 0.5) -> bool:
    """Wait until `pid` has ended (True) or `timeout` seconds passed (False).

    On Linux ≥ 5.3 a pidfd becomes readable when the process ends (a zombie counts), so the
    caller sleeps in the event loop until then: no wake-ups, no delay. Elsewhere, or when
    the pidfd cannot be opened, `pid_alive` is asked every `poll` seconds."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfd here: poll
        deadline = loop.time() + timeout
        while pid_alive(pid):
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(poll, left))  # the fallback's poll interval
        return True
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    try:
        loop.add_reader(fd, readable)
    except (NotImplementedError, OSError, ValueError):  # a loop without add_reader
        os.close(fd)
        await asyncio.sleep(min(poll, timeout))  # the fallback's poll interval
        return not pid_alive(pid)
    try:
        await asyncio.wait({ended}, timeout=timeout)
    finally:
        loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
        if not ended.done():
            ended.cancel()
    return not pid_alive(pid)
