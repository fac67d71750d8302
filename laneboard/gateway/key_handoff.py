"""Handing provider keys to a gateway being spawned: through a FIFO, never a file or argv.

Why: the supervisor starts the gateway in a tmux window, so the gateway's environment is
the tmux server's (fixed when that server started), not the supervisor's: a key exported
in the shell after the tmux server started never reached it, and every fallback or routed
tool on another provider was skipped for want of a credential. Lanes get their keys from
a one-shot launcher the supervisor writes; the gateway gets the key variables its routes
may name (every configured provider's, `lanes.gateway_route.gateway_keys`) through a
named pipe instead — a FIFO holds no bytes on disk, so no secret is written to any file,
and its path (not a secret) is the only thing on the command line:

- `offer` (the spawner): `mkfifo` 0600 in the gateway's private (0700) folder, start
  `gateway run --keys-from FIFO`, wait (with a deadline) for the gateway to open it, write
  one JSON document `{"names": [...], "keys": {NAME: value}}`, close, remove the FIFO;
- `take` (the gateway, first thing): check the FIFO is ours (a FIFO, owned by us, mode
  0600, in a folder only we can write), open it, read with a deadline, remove it, and put
  the keys in its own `os.environ`. `--supervise` keeps them in its environment, so a
  server restarted with backoff has them too.

`names` is every variable the spawner's config names (set or not); the gateway records
which of them it holds (`KEYS_VAR`, names only), and `gateway.json` says so, so a later
cockpit can tell whether the running gateway lacks a key it has (`client.missing_keys`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import select
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Names (never values) of the key variables the gateway was handed, comma-separated,
#: in the gateway's own environment: what `server.serve` records in `gateway.json`.
KEYS_VAR = "LANEBOARD_GATEWAY_KEY_NAMES"
TIMEOUT_S = 20.0
MAX_PAYLOAD = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class HandoffError(Exception):
    """The keys could not be handed over (the message names no value)."""


def make_fifo(folder: Path, tag: str) -> Path:
    path = folder / f"keys.{tag}.fifo"
    os.mkfifo(path, 0o600)
    return path


def offer(fifo: Path, names: Sequence[str], keys: Mapping[str, str], *,
          timeout: float = TIMEOUT_S) -> None:
    """Write the keys to the gateway reading `fifo` (waits for it to open, with a
    deadline); the FIFO is removed whatever happens."""
    payload = json.dumps({"names": sorted(set(names) | set(keys)), "keys": dict(keys)}).encode()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                break
            except OSError as e:
                if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise HandoffError(f"cannot open {fifo}: {e.strerror}") from None
            if time.monotonic() > deadline:
                raise HandoffError(f"the gateway did not read its keys within {timeout}s")
            time.sleep(0.02)  # polling for the reader to open, with a deadline
        try:
            os.set_blocking(fd, True)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        except OSError as e:
            raise HandoffError(f"writing the keys failed: {e.strerror}") from None
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            fifo.unlink()


def _check_fifo(fifo: Path) -> None:
    st = os.lstat(fifo)
    if not stat.S_ISFIFO(st.st_mode):
        raise HandoffError(f"{fifo} is not a FIFO")
    if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise HandoffError(f"{fifo} is not a private FIFO of this user")
    parent = os.lstat(fifo.parent)
    if parent.st_uid != os.getuid() or stat.S_IMODE(parent.st_mode) & 0o022:
        raise HandoffError(f"{fifo.parent} is writable by others")


def take(fifo: Path, *, timeout: float = TIMEOUT_S) -> dict[str, str]:
    """Read the keys from `fifo` and put them in `os.environ` (and the names handed in
    `KEYS_VAR`); returns them. HandoffError when the FIFO is not ours, nobody writes
    within `timeout`, or the payload is malformed."""
    _check_fifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HandoffError(f"no keys arrived within {timeout}s")
            # Linux reports no hang-up on a FIFO no writer has opened yet: this waits
            # for the spawner, then for its bytes, then for its close
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_PAYLOAD:
                raise HandoffError("the key hand-off is too large")
            chunks.append(chunk)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):  # the spawner removes it too
            fifo.unlink()
    try:
        doc = json.loads(b"".join(chunks))
        names = [str(n) for n in doc["names"]]
        keys = {str(k): str(v) for k, v in doc["keys"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise HandoffError("the key hand-off is malformed") from None
    bad = [n for n in [*names, *keys] if not _NAME.match(n)]
    if bad:
        raise HandoffError(f"not a variable name: {bad[0]!r}")
    os.environ.update(keys)
    os.environ[KEYS_VAR] = ",".join(sorted(set(names)))
    return keys


def held_names(environ: Mapping[str, str] | None = None) -> dict[str, bool]:
    """Of the names handed over (`KEYS_VAR`), which hold a value here."""
    env = os.environ if environ is None else environ
    names = [n for n in env.get(KEYS_VAR, "").split(",") if n]
    return {n: bool(env.get(n, "").strip()) for n in names}
