"""The control socket: where it lives, who may talk on it, and what goes over it.

Why each piece:

- **Where**: `<state dir>/<socket tag>/ctl-<digest of the session>.sock`, in a folder that
  `private_fs.ensure_private_dir` keeps 0700 and ours, and the socket itself 0600: the
  socket hands out work to agents with write access, so only this user may reach it. The
  session is hashed because a unix socket path has a 107-byte limit.
- **Who**: a lane is identified by a per-lane token, an HMAC of the lane id under a key
  kept (0600) in the state dir, and passed to that lane's MCP server in its environment
  (`LANEBOARD_LANE_TOKEN`). A name the caller claims is never trusted: an agent told by a
  web page to "call delegate as main" still holds only its own lane's token. Deriving the
  token (instead of storing a table) lets lanes outlive the supervisor: the next one
  recomputes the same tokens from the same key.
- **What**: one JSON object per line each way, `{"id", "token", "method", "params"}` →
  `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error": {"rule", "message"}}`.
  Newline-delimited JSON needs no framing library and is readable with `socat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from laneboard.errors import LaneboardError
from laneboard.harnesses.private_fs import create_private_file, ensure_private_dir, socket_tag

__all__ = [
    "MAX_LINE",
    "ControlError",
    "NotListening",
    "Refused",
    "call",
    "control_socket_path",
    "lane_token",
    "lane_tokens",
]

#: Longest request or response line (a task text, an answer) the socket accepts.
MAX_LINE = 8 * 1024 * 1024
TOKEN_ENV = "LANEBOARD_LANE_TOKEN"
SOCKET_ENV = "LANEBOARD_CONTROL_SOCKET"
_SUN_PATH_MAX = 107


class ControlError(LaneboardError):
    """The control server could not be reached or answered nonsense."""


class NotListening(ControlError):
    """Nothing listens on the control socket: no supervisor runs for that session."""


class Refused(LaneboardError):
    """A policy refusal: `rule` names the rule, so the orchestrator can adapt."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"refused by rule {rule!r}: {message}")
        self.rule = rule
        self.detail = message


def _state_dir() -> Path:
    from laneboard.lanes.statefile import state_dir

    return state_dir()


def control_socket_path(tmux_socket: str, session: str) -> Path:
    """The control socket of the supervisor for (`tmux_socket`, `session`); its folder is
    created private. Raises ControlError when the path would not fit a unix socket."""
    folder = ensure_private_dir(_state_dir() / socket_tag(tmux_socket), _state_dir())
    digest = hashlib.sha256(session.encode()).hexdigest()[:12]
    path = folder / f"ctl-{digest}.sock"
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        return path
    # A deep state dir (a long $HOME, a test's tmp folder) would not fit a unix socket's
    # 107 bytes: fall back to laneboard's private runtime dir, named after the state dir
    # too, so two state dirs never share a socket.
    from laneboard.harnesses.private_fs import runtime_root

    root, _why = runtime_root()
    short_dir = ensure_private_dir(root)
    key = f"{_state_dir()}\0{tmux_socket}\0{session}".encode()
    short = short_dir / f"ctl-{hashlib.sha256(key).hexdigest()[:16]}.sock"
    if len(os.fsencode(short)) > _SUN_PATH_MAX:
        raise ControlError(
            f"the control socket path {path} is longer than a unix socket allows "
            f"({_SUN_PATH_MAX} bytes), and so is {short}; set LANEBOARD_STATE_DIR to a "
            "shorter folder"
        )
    return short


def _key() -> bytes:
    """The state dir's token key (created once, 0600, never through a symlink)."""
    path = _state_dir() / "conductor.key"
    with contextlib.suppress(FileExistsError):
        create_private_file(path, secrets.token_bytes(32))
    data = path.read_bytes()
    if len(data) < 32 or path.stat().st_mode & 0o077:
        raise ControlError(f"{path}: not a private token key of 32+ bytes; remove it")
    return data


def lane_token(lane: str, session: str) -> str:
    """The token that identifies `lane` of `session` to the control server."""
    return hmac.new(_key(), f"{session}\0{lane}".encode(), hashlib.sha256).hexdigest()


def lane_tokens(lanes: list[str], session: str) -> dict[str, str]:
    """token → lane for every lane (what the server checks callers against)."""
    return {lane_token(lane, session): lane for lane in lanes}


async def call(
    socket: Path | str, token: str, method: str, params: dict[str, Any],
    *, timeout: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One request on a fresh connection; the result, or Refused / ControlError."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(socket), limit=MAX_LINE)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        raise NotListening(
            f"no laneboard supervisor is listening on {socket} ({e.strerror}); start the "
            "cockpit or `laneboard up --headless` (the MCP server never starts one itself)"
        ) from None
    try:
        line = json.dumps({"id": 1, "token": token, "method": method, "params": params})
        writer.write(line.encode() + b"\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if not raw:
        raise ControlError("the control server closed the connection without an answer")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ControlError("the control server sent a line that is not JSON") from None
    if not isinstance(doc, dict):
        raise ControlError("the control server sent JSON that is not an object")
    if doc.get("ok"):
        result = doc.get("result")
        return result if isinstance(result, dict) else {"value": result}
    err = doc.get("error") or {}
    rule = str(err.get("rule") or "error")
    message = str(err.get("message") or "unknown error")
    if rule == "error":
        raise ControlError(message)
    raise Refused(rule, message)
