"""A Codex lane on another host: its CODEX_HOME, rollouts and answer files THERE.

Why apart from the harness: these are the only places a codex lane touches its host's
file system, each through the host's SSH link (`remote_host.RemoteHost`: paths are
positional parameters of fixed scripts, never code). The harness keeps the turn logic;
this module answers "where is it on the host" and "bring it here".

- `prepare_home`: the lane's CODEX_HOME on the host — the CODEX_HOME its env names (a
  host path), else a private directory in laneboard's state dir there — with laneboard's
  own files of the local isolated home copied in (`config.toml` with the trust entry,
  the `rules/` execpolicy of `fences.deny`). Never the person's `~/.codex`: a lane on
  the ChatGPT login is refused, its tokens are not copied to another machine.
- `newest_rollout`: the newest `sessions/**/rollout-*.jsonl` there since a time.
- `out_file` / `read_answer`: a fresh path there for `codex exec -o`, read back bounded
  and removed.
- `model_upgrades`: `codex debug models` run there (its catalog, its version);
- the conductor's MCP server on a host: `harnesses.remote_conductor`.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from laneboard.errors import HarnessError
from laneboard.harnesses.codex.launch import parse_model_upgrades
from laneboard.harnesses.remote_host import RemoteHost

log = logging.getLogger(__name__)

#: A file of the local home larger than this is not copied (laneboard's are tiny).
COPY_LIMIT = 1024 * 1024

_ROLLOUTS = (
    '[ -d "$1/sessions" ] || exit 0; '
    'find "$1/sessions" -type f -name "rollout-*.jsonl" -printf "%T@ %p\\n"'
)


def lane_dir(lane: str) -> str:
    """The lane's id as one safe directory name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", lane)


async def prepare_home(
    host: RemoteHost, *, lane: str, local_home: Path, isolated: bool, env_home: str | None,
    where: str,
) -> str:
    """The lane's CODEX_HOME on the host, made private and filled (see the docstring)."""
    if not isolated:
        raise HarnessError(
            f"{where}: a codex lane on host {host.name!r} needs its own provider (base_url) "
            "or a CODEX_HOME in its env; laneboard does not copy your ~/.codex login to "
            "another machine"
        )
    home = env_home or f"{await host.state_dir()}/codex-homes/{lane_dir(lane)}"
    await host.make_dir(home)
    files = [local_home / "config.toml"]
    if (local_home / "rules").is_dir():
        files += sorted((local_home / "rules").iterdir())
    for f in files:
        if f.is_symlink() or not f.is_file() or f.stat().st_size > COPY_LIMIT:
            continue
        await host.put_file(f"{home}/{f.relative_to(local_home).as_posix()}", f.read_bytes())
    return home


async def newest_rollout(host: RemoteHost, home: str, newer_than: float) -> str | None:
    """The newest rollout file in `home` on the host modified at or after `newer_than`
    (the host's clock), or None."""
    rc, out, _err = await host.link.run(["/bin/sh", "-c", _ROLLOUTS, "sh", home], timeout=30.0)
    newest: tuple[float, str] | None = None
    for line in out.splitlines() if rc == 0 else []:
        stamp, _, found = line.partition(" ")
        try:
            when = float(stamp)
        except ValueError:
            continue
        if when >= newer_than and (newest is None or when > newest[0]):
            newest = (when, found)
    return newest[1] if newest is not None else None


async def out_file(host: RemoteHost) -> str:
    """A fresh path on the host for `codex exec -o` (in laneboard's private state dir)."""
    runs = f"{await host.state_dir()}/runs"
    await host.make_dir(runs)
    return f"{runs}/{uuid.uuid4().hex}-last-message.txt"


async def read_answer(host: RemoteHost, path: str, *, lane: str) -> str:
    """The `-o` file's text on the host ("" when exec never wrote it), then removed."""
    try:
        got = await host.read_file(path)
    finally:
        await host.remove_file(path)
    if got is None:
        return ""
    if got.truncated:
        log.warning("lane %s: the answer file on host %s was cut at the read limit",
                    lane, host.name)
    return got.text


async def model_upgrades(host: RemoteHost, binary: str) -> dict[str, str]:
    """`codex debug models` on the host ({} when it fails)."""
    rc, out, _err = await host.link.run([binary, "debug", "models"], timeout=30.0)
    return parse_model_upgrades(out) if rc == 0 else {}
