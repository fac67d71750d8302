"""What a supervisor publishes about its lanes, for every laneboard process to read.

tmux knows whether a lane's process runs; it does not know that a supervisor gave up on a
lane (`failed`), is waiting out a backoff (`restarting`), why the last start failed, or
that a person stopped the lane from another terminal. Those live here, in one small JSON
file per tmux socket and session next to the state file:

    {"lanes": {"<lane>": {"state", "detail", "last_error", "user_stopped",
                          "attempt", "delay_s", "owner_pid", "updated"}}}

Each process changes only the lanes it acts on, read-modify-write under a file lock, and
replaces the file atomically, so readers never see half a file and two writers never lose
each other's lanes. A transient state (`starting`, `restarting`, `busy`) whose writer is
gone is not believed: the process that would have finished it died.

`SupervisorLock` is the other half of "who supervises": one exclusive `flock` per socket
and session, held for the life of `laneboard up`; a second `up` sees the holder's pid and
exits instead of creating the same lanes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from filelock import FileLock

from laneboard.harnesses.private_fs import socket_tag
from laneboard.lanes.statefile import atomic_write_json, lock_path, state_dir

TRANSIENT = frozenset({"starting", "restarting", "busy"})


@dataclass
class Published:
    """One lane as its last writer left it."""

    state: str = "stopped"
    detail: str = ""
    last_error: str | None = None
    user_stopped: bool = False
    attempt: int = 0
    """Consecutive failed runs behind the current restart (0: none)."""
    delay_s: float | None = None
    """The backoff before the restart in progress (None when not restarting)."""
    owner_pid: int | None = None
    updated: float = 0.0

    @property
    def stale(self) -> bool:
        """A transient state whose writer no longer runs cannot be finished by anyone."""
        return self.state in TRANSIENT and not _alive(self.owner_pid)


def published_path(socket: str, session: str, root: Path | None = None) -> Path:
    """`root`: the state dir resolved earlier (a supervisor's, whose writes run later on
    its publisher thread, when the environment may say otherwise); default: now."""
    return (root or state_dir()) / socket_tag(socket) / f"{session}.lanes.json"


def read_all(socket: str, session: str, root: Path | None = None) -> dict[str, Published]:
    """Every lane's publication; {} when none was written or the file is unreadable."""
    try:
        raw = json.loads(published_path(socket, session, root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    lanes = raw.get("lanes") if isinstance(raw, dict) else None
    out: dict[str, Published] = {}
    names = {f.name for f in fields(Published)}
    for lane, rec in (lanes or {}).items():
        if isinstance(rec, dict):
            with contextlib.suppress(TypeError, ValueError):
                out[str(lane)] = Published(**{k: v for k, v in rec.items() if k in names})
    return out


def read(socket: str, session: str, lane: str) -> Published | None:
    return read_all(socket, session).get(lane)


@contextlib.contextmanager
def _locked(socket: str, session: str, root: Path | None = None) -> Iterator[None]:
    lock = lock_path(socket, f"published-{session}", root=root)
    with FileLock(str(lock), timeout=10, mode=0o600):
        yield


def update(socket: str, session: str, lane: str, *, root: Path | None = None,
           **changes: object) -> Published:
    """Change some fields of one lane's publication (others' lanes are kept as they are)."""
    with _locked(socket, session, root):
        current = read_all(socket, session, root)
        rec = current.get(lane) or Published()
        for key, value in changes.items():
            setattr(rec, key, value)
        rec.owner_pid, rec.updated = os.getpid(), time.time()
        current[lane] = rec
        atomic_write_json(
            published_path(socket, session, root),
            {"lanes": {k: asdict(v) for k, v in sorted(current.items())}},
        )
        return rec


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SupervisorHeld(Exception):
    """Another process supervises this socket and session."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        super().__init__(f"held by pid {pid}" if pid else "held by another process")


class SupervisorLock:
    """Exclusive right to supervise (start and restart) the lanes of one socket/session.

    An `flock` on a 0600 file in the state dir: the kernel drops it when the holder dies,
    even by SIGKILL, so a crashed `up` never blocks the next one. The holder's pid is
    written into the file for the message the loser prints.
    """

    def __init__(self, socket: str, session: str) -> None:
        self.path = lock_path(socket, f"supervisor-{session}")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now or raise SupervisorHeld (never waits)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                text = os.read(fd, 32).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
            raise SupervisorHeld(int(text) if text.isdigit() else None) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the flock
