"""Headless agent processes: spawn with a closed stdin, read JSONL lines, own the deadline.

Both CLIs wait for EOF when stdin is a pipe, and `codex exec` reconnects forever to an
unreachable endpoint, so every headless run gets stdin=DEVNULL, its own process group, and
a deadline after which the whole group is killed (TERM, then KILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence

from laneboard.errors import BinaryMissing, HarnessTimeout

#: stream-json lines (tool results, the init line) can be far longer than asyncio's 64 KiB.
LINE_LIMIT = 64 * 1024 * 1024


def find_binary(name: str, env: Mapping[str, str], what: str, install_hint: str) -> str:
    """The absolute path of `name` on the lane's PATH, or BinaryMissing saying how to fix it."""
    if os.sep in name:
        if os.access(name, os.X_OK):
            return name
        found = None
    else:
        found = shutil.which(name, path=env.get("PATH", os.environ.get("PATH", "")))
    if found is None:
        raise BinaryMissing(
            f"{what}: the `{name}` program was not found on PATH; install it with "
            f"`{install_hint}` or set the lane's command"
        )
    return found


class HeadlessRun:
    """One agent process in its own session, with stdout read line by line.

    Use as `async with HeadlessRun(...) as run: async for line in run.lines(deadline): …`;
    leaving the block kills the process group if it still runs.
    """

    def __init__(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str], what: str) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.what = what
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr: list[bytes] = []
        self._stderr_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HeadlessRun:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=LINE_LIMIT,
            )
        except FileNotFoundError as exc:
            raise BinaryMissing(f"{self.what}: cannot run {self.argv[0]!r}: {exc}") from exc
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.kill()

    async def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self._stderr.append(chunk)
            if len(self._stderr) > 256:
                del self._stderr[:128]

    @property
    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def lines(self, deadline: float) -> AsyncIterator[str]:
        """Yield stdout lines until EOF; HarnessTimeout (after killing) past `deadline`."""
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                await self.kill()
                raise HarnessTimeout(f"{self.what}: no result before the deadline; stopped it")
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout=left)
            except TimeoutError:
                continue
            if not raw:
                return
            yield raw.decode(errors="replace").rstrip("\n")

    async def wait(self, grace: float = 10.0) -> int:
        """The exit code; kills the group if it has not exited within `grace` seconds."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout=grace)
        except TimeoutError:
            await self.kill()
            code = await self.proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), timeout=2.0)
        return code

    async def kill(self) -> None:
        """TERM the process group, then KILL it if it lingers."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                await asyncio.wait_for(proc.wait(), timeout=grace)
                break
            except TimeoutError:
                continue
        if self._stderr_task is not None and not self._stderr_task.done():
            self._stderr_task.cancel()
