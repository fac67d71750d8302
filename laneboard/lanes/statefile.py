"""Lane state that must survive the cockpit: usage, restart counts, explicit model choices.

tmux says what is running; this small JSON file says what it has cost and what the user
chose. It lives in the user state dir (or $LANEBOARD_STATE_DIR), one file per tmux socket
and session, written atomically so a crash leaves the old or the new file, never half.
The same directory holds the cross-process lock files.

Saving is write-behind (`save_soon`): the caller's state is copied at once (a snapshot,
cheap) and written — temp file, fsync, rename, a few ms — by a task off the caller's path,
so a send no longer waits for the disk (issue 15). Saves asked for while one is being
written are coalesced into one more write of the newest state; writes never reorder (a
sequence number: an older snapshot never replaces a newer file); `flush()` waits for
everything asked so far, and a write still pending when its task is cancelled (the loop
is ending) is done at once, synchronously.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laneboard.errors import LaneboardError
from laneboard.harnesses.private_fs import ensure_private_dir, socket_tag

log = logging.getLogger(__name__)


def state_dir() -> Path:
    """$LANEBOARD_STATE_DIR, else the platform's user state dir for laneboard."""
    env = os.environ.get("LANEBOARD_STATE_DIR")
    if env:
        base = Path(env)
    else:
        import platformdirs

        base = Path(platformdirs.user_state_dir("laneboard"))
    return ensure_private_dir(base)  # 0700, ours; UnsafePath (exit 2) otherwise


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never a torn one."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class LaneRecord:
    """What is remembered of one lane between cockpit runs."""

    restarts: int = 0
    prompts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    explicit: bool = False
    context_tokens: int = 0


@dataclass
class StateFile:
    path: Path
    lanes: dict[str, LaneRecord] = field(default_factory=dict)
    _asked: int = field(default=0, repr=False)
    """Sequence number of the newest snapshot asked to be saved."""
    _written: int = field(default=0, repr=False)
    """Sequence number of the snapshot on disk (guarded by `_write_lock`)."""
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, socket: str, session: str) -> StateFile:
        path = state_dir() / socket_tag(socket) / f"{session}.json"
        sf = cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return sf
        for lane, rec in (raw.get("lanes") or {}).items():
            if isinstance(rec, dict):
                known = {k: v for k, v in rec.items() if k in LaneRecord.__dataclass_fields__}
                try:
                    sf.lanes[lane] = LaneRecord(**known)
                except TypeError:
                    continue
        return sf

    def lane(self, lane: str) -> LaneRecord:
        return self.lanes.setdefault(lane, LaneRecord())

    def _snapshot(self) -> tuple[int, dict[str, Any]]:
        self._asked += 1
        lanes = {k: dict(v.__dict__) for k, v in sorted(self.lanes.items())}
        return self._asked, {"lanes": lanes}

    def _write(self, seq: int, data: dict[str, Any]) -> None:
        """Write snapshot `seq` unless a newer one is on disk already (any thread)."""
        with self._write_lock:
            if seq <= self._written:
                return
            atomic_write_json(self.path, data)
            self._written = seq

    def save(self) -> None:
        """Write the state now (synchronously). Raises OSError."""
        self._write(*self._snapshot())

    def save_soon(self) -> None:
        """Save the state as it is now, without waiting for the disk (module docstring).
        Outside a running event loop this is `save()`. A failed write is logged, not
        raised: the state is a convenience, a turn never fails over it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save()
            return
        self._asked += 1  # the newest state is wanted; the writer snapshots it
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_behind(), name=f"statefile-{self.path.name}")
            self._writer.add_done_callback(self._writer_done)

    @property
    def pending(self) -> bool:
        """True while a save asked for is not on disk yet."""
        return self._asked > self._written

    async def _write_behind(self) -> None:
        while self._asked > self._written:
            seq, data = self._snapshot()
            try:
                await asyncio.to_thread(self._write, seq, data)
            except (OSError, LaneboardError) as e:
                log.warning("could not save lane state to %s: %s", self.path, e)
                return

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        """A writer cancelled (the loop is ending), even before its first step: what was
        asked for is written now, synchronously, not lost."""
        if task.cancelled() and self.pending:
            try:
                self.save()
            except (OSError, LaneboardError) as e:
                log.warning("could not save lane state to %s: %s", self.path, e)

    async def flush(self) -> None:
        """Wait until every save asked for so far is on disk (or failed, logged)."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.shield(writer)
        if self.pending:
            try:
                await asyncio.to_thread(self.save)
            except (OSError, LaneboardError) as e:
                log.warning("could not save lane state to %s: %s", self.path, e)


def lock_path(socket: str | None, name: str, *, root: Path | None = None) -> Path:
    """A lock file for `name`: a lane's on its tmux socket, or (socket None) a
    machine-wide one, for what every laneboard process shares (a provider profile).
    `root`: the state dir resolved earlier (default: resolved now)."""
    base = root or state_dir()
    d = (base / socket_tag(socket) / "locks") if socket else (base / "locks")
    ensure_private_dir(d, base)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return d / f"{safe}.lock"
