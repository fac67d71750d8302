"""The tmux relay's lane windows: launch, list, find, kill, exit status.

A lane's command runs under `/bin/sh` from a one-shot launcher file (0600, deleted as it
starts, see `_launch_script`); what a lane is lives in user options on its window, so
any laneboard process can list and adopt what is running.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from laneboard.harnesses.tmux_capture import TmuxCapture
from laneboard.harnesses.tmux_server import (
    _ENV_NAME,
    _LANE_ID,
    _PANE_FORMAT,
    _SEP,
    OPTION_PREFIX,
    LaneWindow,
    LaneWindowError,
    TmuxError,
    _tmux_arg,
    safe_session_name,
)

log = logging.getLogger(__name__)


class TmuxWindows(TmuxCapture):
    """Lanes as windows: create one from its launcher, list, find, adopt, kill them,
    and read a finished lane's exit status from its status file."""

    async def create_lane_window(
        self,
        session: str,
        lane: str,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        width: int = 200,
        height: int = 50,
    ) -> LaneWindow:
        """Start `argv` in a new window named `lane` of `session`; returns the LaneWindow.

        `env` is merged over `default_env` and the server's environment. `metadata`
        (e.g. harness, model, digest) is stored on the window for `list_lanes`.
        The session's control client is attached first, so the lane's output stream is
        complete from its first byte. Raises LaneWindowError if the lane already has a window
        in this session (adopt or kill it), TmuxError if tmux refuses.
        """
        if not _LANE_ID.match(lane):
            raise LaneWindowError(
                f"lane id {lane!r} is not usable as a tmux window: use letters, digits, _ . -"
            )
        if not argv:
            raise LaneWindowError(f"lane {lane!r} has no command to run")
        name = await self.ensure_session(session)
        control = await self._control_for(name)
        async with self._lock(self._session_locks, name):
            existing = await self.find_lane(name, lane)
            if existing is not None:
                raise LaneWindowError(
                    f"lane {lane!r} already has a window in tmux session {name!r} "
                    f"(pane {existing.pane_id}); adopt it or stop it first"
                )
            lane_dir = self._private_dir("lanes", name)
            status = lane_dir / f"{lane}.status"
            await self._remove_file(status)
            merged = {**self.default_env, **(env or {})}
            launcher = lane_dir / f"{lane}.{uuid.uuid4().hex[:8]}.launch.sh"
            script = _launch_script(argv, merged, str(cwd), str(status))
            await self._put_private_file(launcher, script.encode("utf-8"))
            meta = {
                **{k: str(v) for k, v in (metadata or {}).items()},
                "argv": json.dumps(list(argv)),
                "cwd": str(cwd),
                "created": f"{time.time():.3f}",
            }
            try:
                out = await self.run(
                    "set-option",
                    "-t",
                    f"={name}:",
                    "default-size",
                    f"{width}x{height}",
                    ";",
                    "new-window",
                    "-d",
                    "-t",
                    f"={name}:",
                    "-n",
                    lane,
                    "-c",
                    _tmux_arg(str(cwd)),
                    "-P",
                    "-F",
                    "#{window_id}\t#{pane_id}\t#{pane_pid}",
                    "--",
                    "/bin/sh",
                    _tmux_arg(str(launcher)),
                )
            except TmuxError:
                await self._remove_file(launcher)
                raise
            window_id, pane_id, pid = out.strip().split("\t")
            control.bind_window(window_id, pane_id)
            control.stream(pane_id)
            options = {
                "lane": lane,
                "status": str(status),
                "harness": meta.get("harness", ""),
                "model": meta.get("model", ""),
                "digest": meta.get("digest", ""),
                "meta": json.dumps(meta, ensure_ascii=True, sort_keys=True),
            }
            args: list[str] = [
                "resize-window",
                "-t",
                window_id,
                "-x",
                str(width),
                "-y",
                str(height),
            ]
            for key, value in options.items():
                args += [
                    ";",
                    "set-option",
                    "-w",
                    "-t",
                    window_id,
                    OPTION_PREFIX + key,
                    _tmux_arg(value),
                ]
            await self.run(*args)
            log.info("lane %s started in %s (%s)", lane, pane_id, name, extra={"lane": lane})
            return LaneWindow(
                session=name, lane=lane, window_id=window_id, pane_id=pane_id,
                pid=int(pid) if pid.isdigit() else None, dead=False,
                status_file=str(status), metadata=meta,
            )  # fmt: skip

    async def list_lanes(self, session: str | None = None) -> list[LaneWindow]:
        """Every lane window on this socket (or in one session), live or finished.

        Read from tmux alone, so it sees lanes started by any laneboard process.
        Returns [] when the server is not running.
        """
        try:
            out = await self.run_for(None, "list-panes", "-a", "-F", _PANE_FORMAT, replay=True)
        except TmuxError as exc:
            if exc.no_server:
                return []
            raise
        wanted = safe_session_name(session) if session is not None else None
        lanes = []
        for line in out.splitlines():
            fields = line.split(_SEP)
            if len(fields) < 9 or not fields[6]:
                continue
            sess, window_id, pane_id, pid, dead, dead_status, lane, status, meta = fields[:9]
            if wanted is not None and sess != wanted:
                continue
            try:
                metadata = json.loads(_SEP.join(fields[8:])) if meta else {}
            except json.JSONDecodeError:
                metadata = {}
            lanes.append(
                LaneWindow(
                    session=sess,
                    lane=lane,
                    window_id=window_id,
                    pane_id=pane_id,
                    pid=int(pid) if pid.isdigit() else None,
                    dead=dead == "1",
                    status_file=status,
                    metadata={str(k): str(v) for k, v in metadata.items()},
                    dead_status=int(dead_status) if dead_status.lstrip("-").isdigit() else None,
                )
            )
        return lanes

    async def find_lane(self, session: str, lane: str) -> LaneWindow | None:
        """The window of `lane` in `session` (exact match on both), or None."""
        for found in await self.list_lanes(session):
            if found.lane == lane:
                return found
        return None

    async def kill_lane(self, target: LaneWindow | str) -> None:
        """Kill a lane's window (by LaneWindow or pane id). A missing window is not an error."""
        window = target.window_id if isinstance(target, LaneWindow) else None
        if window is None:
            try:
                window = (
                    await self.run("display-message", "-p", "-t", str(target), "#{window_id}")
                ).strip()
            except TmuxError:
                return
        with contextlib.suppress(TmuxError):
            await self.run("kill-window", "-t", window)

    async def exit_status(self, target: LaneWindow | str) -> int | None:
        """The exit status of a finished lane; None while it runs or when unknown."""
        lane = target if isinstance(target, LaneWindow) else await self._lane_by_pane(target)
        if lane is None:
            return None
        if lane.status_file:
            text = await self._read_small_file(Path(lane.status_file))
            with contextlib.suppress(ValueError):
                return int((text or "").strip())
        info = await self._pane_info(lane.pane_id, "#{pane_dead}\t#{pane_dead_status}")
        if info and info.startswith("1\t") and info[2:].lstrip("-").isdigit():
            return int(info[2:])
        return None

    async def _lane_by_pane(self, pane: str) -> LaneWindow | None:
        for lane in await self.list_lanes():
            if lane.pane_id == pane:
                return lane
        return None


def _launch_script(argv: Sequence[str], env: Mapping[str, str], cwd: str, status: str) -> str:
    """The `/bin/sh` launcher a lane window runs (see the module docstring).

    `trap : INT QUIT` keeps the launcher alive through a Ctrl-C meant for the lane's
    program (a handler, not an ignore, so the program still gets default signals) and so
    the status line still runs.
    """
    lines = ["# laneboard lane launcher (deletes itself: it may hold secrets)", 'rm -f -- "$0"']
    # The status file is private (0600) without changing the lane program's umask.
    for key, value in env.items():
        if not _ENV_NAME.match(key):
            raise LaneWindowError(f"environment variable name {key!r} is not valid")
        lines.append(f"export {key}={shlex.quote(value)}")
    q = shlex.quote
    lines += [
        f"cd -- {q(cwd)} || exit 126",
        "trap : INT QUIT",
        " ".join(q(a) for a in argv),
        "s=$?",
        f"(umask 077 && printf '%s\\n' \"$s\" > {q(status + '.tmp')}) && mv -f -- {q(status + '.tmp')} {q(status)}",
        'exit "$s"',
    ]
    return "\n".join(lines) + "\n"
