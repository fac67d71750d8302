"""`core.procs.wait_exit`: a process's end is seen when it happens (a pidfd), a live one
times out, a cancelled wait leaves no descriptor behind. Real child processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from asyncio.subprocess import PIPE, Process
from pathlib import Path

from laneboard.core.procs import pid_alive, wait_exit

SLEEPER = [sys.executable, "-c", "import sys; sys.stdin.read()"]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _end(child: Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.kill()
    await child.wait()


async def test_wait_exit_returns_when_the_process_ends_and_times_out_while_it_lives() -> None:
    child = await asyncio.create_subprocess_exec(*SLEEPER, stdin=PIPE)
    try:
        assert await wait_exit(child.pid, 0.2) is False  # alive: the timeout answers
        waiter = asyncio.create_task(wait_exit(child.pid, 60.0))
        assert not waiter.done()
        assert child.stdin is not None
        child.stdin.close()  # the child reads EOF and ends
        assert await asyncio.wait_for(waiter, 30.0) is True
        assert not pid_alive(child.pid)
    finally:
        await _end(child)


async def test_wait_exit_of_a_pid_that_is_gone_is_true_at_once() -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()  # reaped: the pid no longer exists
    assert await asyncio.wait_for(wait_exit(child.pid, 60.0), 10.0) is True


async def test_a_cancelled_wait_closes_its_pidfd() -> None:
    child = await asyncio.create_subprocess_exec(*SLEEPER, stdin=PIPE)
    try:
        before = _fds()
        waiter = asyncio.create_task(wait_exit(child.pid, 60.0))
        deadline = asyncio.get_running_loop().time() + 10
        while _fds() == before:  # until it has opened its pidfd (a condition, with a deadline)
            assert asyncio.get_running_loop().time() < deadline, "no pidfd was opened"
            await asyncio.sleep(0)  # yield to the waiter, not a timed wait
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert _fds() == before, sorted(Path("/proc/self/fd").iterdir())
    finally:
        await _end(child)
