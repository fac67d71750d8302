"""Operation ids for `laneboard send --op-id ID`: the same id twice sends once, even from
two processes at the same moment.

Why a file per id, claimed with O_CREAT|O_EXCL: a script that retries a send after a
timeout (or two schedulers racing) must not type the prompt into an agent twice. The
kernel decides who creates a file first, so exactly one process wins the claim and sends;
every other one finds the claim and reports what the first recorded (or that it is still
in flight). No lock to leak, nothing to clean up after a crash but one small file.

Where: `<state dir>/ops/<tmux socket tag>/<sha256 of session and id>.json`, in private
directories (`harnesses.private_fs`: 0700, ours, no symlinks), mode 0600. The id is hashed
so any string a script chooses is a safe file name and says nothing on disk. At most once:
a send that raised keeps its claim (recorded as "error"), since part of the prompt may
already sit in the agent's input; `release` exists for callers that know nothing left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laneboard.harnesses.private_fs import create_private_file, ensure_private_dir, socket_tag
from laneboard.lanes.statefile import atomic_write_json, state_dir

MAX_OP_ID = 200
"""Longest op id accepted: an id names an operation, it is not a payload."""


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming an op id: `won` (this process sends) or the earlier record."""

    path: Path
    won: bool
    record: dict[str, Any]


def check_op_id(op_id: str) -> str | None:
    """Why `op_id` is refused, or None when it is fine."""
    if not op_id.strip():
        return "an op id must not be empty"
    if len(op_id) > MAX_OP_ID:
        return f"an op id is at most {MAX_OP_ID} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in op_id):
        return "an op id must not contain control characters"
    return None


def op_path(socket: str, session: str, op_id: str) -> Path:
    """Where the record of `op_id` lives (its directories made private on the way)."""
    root = state_dir()
    folder = ensure_private_dir(root / "ops" / socket_tag(socket), private_from=root)
    digest = hashlib.sha256(f"{session}\0{op_id}".encode()).hexdigest()
    return folder / f"{digest}.json"


def claim(socket: str, session: str, op_id: str, lane: str) -> Claim:
    """Claim `op_id` for a send to `lane`: exactly one caller ever wins it."""
    path = op_path(socket, session, op_id)
    record = {"op_id": op_id, "lane": lane, "state": "sending", "pid": os.getpid()}
    try:
        create_private_file(path, json.dumps(record).encode())
    except FileExistsError:
        return Claim(path, False, read_record(path))
    return Claim(path, True, record)


def read_record(path: Path) -> dict[str, Any]:
    """The record of a claimed id; a claim caught mid-write reads as still sending."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "sending"}
    return data if isinstance(data, dict) else {"state": "sending"}


def finish(c: Claim, outcome: dict[str, Any]) -> None:
    """Record what the send did (replacing the claim atomically)."""
    atomic_write_json(c.path, {**c.record, **outcome})


def release(c: Claim) -> None:
    """Give the id back: nothing reached the lane, so a retry may send."""
    with contextlib.suppress(FileNotFoundError):
        c.path.unlink()
