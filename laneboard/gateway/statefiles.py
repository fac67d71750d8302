"""Where a gateway keeps its files: `<state dir>/gateway-<socket tag>/`.

Why its own folder per tmux socket: one gateway serves the lanes of one laneboard tmux
server, like the state file and the locks. Everything in it is private (0700 dir, 0600
files): the info file names the port, the routes file holds lane tokens, the key file
the HMAC key that makes redaction placeholders stable across gateway restarts (so
provider prompt caches keep hitting).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from laneboard.harnesses.private_fs import create_private_file, ensure_private_dir, socket_tag

INFO = "gateway.json"
ROUTES = "routes.json"
KEY = "redact.key"
USAGE = "usage.json"
LOG = "gateway.log"


def gateway_dir(state: Path, socket: str | None) -> Path:
    return ensure_private_dir(state / f"gateway-{socket_tag(socket or 'default')}")


def atomic_private_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Readers see the old file or the new one; the file is 0600 from its first byte.

    `durable=False` skips the fsync: still atomic for every reader and across a crash of
    the process, only not across a crash of the machine. The gateway saves its counts
    that way after every request, on its event loop, where an fsync (tens of ms on a
    busy disk) stalled every stream it relays; it saves durably when it stops."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def redaction_key(folder: Path) -> bytes:
    """The folder's placeholder key, made once (0600, never through a symlink)."""
    path = folder / KEY
    with contextlib.suppress(FileExistsError):
        create_private_file(path, secrets.token_bytes(32))
    data = path.read_bytes()
    if len(data) < 16:
        raise ValueError(f"{path}: the redaction key is truncated; remove the file")
    return data
