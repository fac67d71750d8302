"""Lane state that must survive the cockpit: usage, restart counts, explicit model choices.

tmux says what is running; this small JSON file says what it has cost and what the user
chose. It lives in the user state dir (or $LANEBOARD_STATE_DIR), one file per tmux socket
and session, written atomically so a crash leaves the old or the new file, never half.
The same directory holds the cross-process lock files.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laneboard.harnesses.private_fs import ensure_private_dir, socket_tag


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

    def save(self) -> None:
        atomic_write_json(
            self.path, {"lanes": {k: v.__dict__ for k, v in sorted(self.lanes.items())}}
        )


def lock_path(socket: str | None, name: str) -> Path:
    """A lock file for `name`: a lane's on its tmux socket, or (socket None) a
    machine-wide one, for what every laneboard process shares (a provider profile)."""
    d = (state_dir() / socket_tag(socket) / "locks") if socket else (state_dir() / "locks")
    ensure_private_dir(d, state_dir())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return d / f"{safe}.lock"
