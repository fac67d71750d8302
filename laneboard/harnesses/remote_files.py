"""A remote lane's transcript, mirrored here as it grows on its host.

Why a mirror and not a remote reader per poll: the harnesses read transcripts with
`JsonlTail` (whole lines from a byte offset, polled every few hundred milliseconds while a
turn runs). One `tail -c +1 -F -- PATH` over the host's SSH master pushes every byte the
agent appends, as it appends it, into a private local file; the harness then tails that
file exactly as it tails a local transcript. One channel per lane instead of one ssh
round trip per poll, and nothing of the turn logic changes.

The path travels as an argv word (`SshLink.argv_for` quotes it); `tail -F` waits for a
file the agent has not created yet. A relative path is relative to the login's home on
the host (`.claude/...`), which is where `~` would point.

Catching up: before a turn starts, the harness marks where the transcript ends; a mirror
that lags would make old lines look new. `catch_up()` asks the host for the file's size
and waits (bounded) until the mirror has at least that many bytes.

The mirror file is private (0600 in laneboard's private runtime dir) and removed when the
mirror closes; the transcript on the host is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from pathlib import Path

from laneboard.errors import HarnessTimeout
from laneboard.harnesses.private_fs import create_private_file, ensure_private_dir, runtime_root
from laneboard.harnesses.ssh_link import SshLink

log = logging.getLogger(__name__)

#: A transcript larger than this is not mirrored further (said once in the log).
MIRROR_LIMIT = 256 * 1024 * 1024


class RemoteMirror:
    """Mirror of one growing file on `link`'s host (see the module docstring)."""

    def __init__(self, link: SshLink, remote_path: str, *, label: str) -> None:
        self.link = link
        self.remote_path = remote_path
        self.label = label
        root, _why = runtime_root()
        folder = ensure_private_dir(root / "mirrors", root)
        self.path = folder / f"{label}-{uuid.uuid4().hex[:12]}.jsonl"
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self.size = 0

    async def start(self) -> RemoteMirror:
        create_private_file(self.path, b"")
        await self.link.ensure()
        argv = self.link.argv_for(["tail", "-c", "+1", "-F", "--", self.remote_path])
        self._proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,  # "cannot open … has appeared": tail -F's own
            start_new_session=True,
        )
        self._task = asyncio.create_task(self._copy(), name=f"mirror-{self.label}")
        return self

    async def _copy(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            while chunk := await proc.stdout.read(65536):
                if self.size + len(chunk) > MIRROR_LIMIT:
                    log.warning("transcript %s on host %s passed %d bytes: no longer mirrored",
                                self.remote_path, self.link.target.name, MIRROR_LIMIT)
                    return
                os.write(fd, chunk)
                self.size += len(chunk)
        finally:
            os.close(fd)

    async def remote_size(self) -> int:
        """The file's size on the host now (0 when it does not exist yet)."""
        rc, out, _err = await self.link.run(
            ["/bin/sh", "-c", '[ -f "$1" ] && wc -c < "$1" || echo 0', "sh", self.remote_path],
            timeout=30.0,
        )
        try:
            return int(out.strip() or 0) if rc == 0 else 0
        except ValueError:
            return 0

    async def catch_up(self, within: float = 30.0) -> None:
        """Wait until the mirror holds every byte the host's file had when asked."""
        want = await self.remote_size()
        deadline = time.monotonic() + within
        while self.size < want:
            if self._task is not None and self._task.done():
                break  # the tail ended (link dropped): the caller's pane checks will say
            if time.monotonic() > deadline:
                raise HarnessTimeout(
                    f"{self.label}: the transcript mirror of {self.remote_path} on host "
                    f"{self.link.target.name!r} stayed behind ({self.size} of {want} bytes)"
                )
            await asyncio.sleep(0.05)  # polling the mirror's byte count with a deadline

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._task
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()
