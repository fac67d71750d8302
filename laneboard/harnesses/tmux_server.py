"""The bottom of the tmux relay: laneboard's own tmux server, its socket and sessions.

Why a module of its own: `TmuxRelay` (tmux.py) was one 550-line class. It is a chain
of layers now, each one module: this one (socket, the `tmux` command, the private
state folder, sessions, pane queries, the shared vocabulary: `LaneWindow`, the errors),
`tmux_capture` (control-mode streams, capture, waits), `tmux_windows` (lane windows
and their launcher) and `tmux` (keys, pastes, delivery: the public `TmuxRelay`). See
tmux.py's docstring for the whole design.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from laneboard.errors import HarnessError, HarnessTimeout
from laneboard.harnesses.private_fs import (
    check_socket_path,
    create_private_file,
    ensure_private_dir,
    runtime_root,
    socket_tag,
)
from laneboard.harnesses.tmux_control import (
    ControlClient,
    ControlClientGone,
    ControlCommandError,
)

DEFAULT_SOCKET = "laneboard"
SOCKET_ENV = "LANEBOARD_TMUX_SOCKET"
OPTION_PREFIX = "@laneboard_"
PLACEHOLDER_WINDOW = "_laneboard"

Predicate = Callable[[], bool | Awaitable[bool]]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LANE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_SEP = "\t"
_PANE_FORMAT = _SEP.join(
    [
        "#{session_name}",
        "#{window_id}",
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_dead}",
        "#{pane_dead_status}",
        "#{@laneboard_lane}",
        "#{@laneboard_status}",
        "#{@laneboard_meta}",
    ]
)


class LaneWindowError(HarnessError):
    """A lane's tmux window cannot be used as asked: its id is not a usable window name, it
    already has a window (adopt or stop it), its pane is gone, or its launch environment is
    malformed. A `HarnessError` (not the lanes layer's `LaneError`): the supervisor catches
    `HarnessError` from `start()` and marks the lane failed with this message."""


class TmuxError(HarnessError):
    """A tmux command failed; `args` and `stderr` say which and why."""

    def __init__(self, command: Sequence[str], stderr: str, returncode: int) -> None:
        self.command = list(command)
        self.stderr = stderr.strip()
        self.returncode = returncode
        super().__init__(
            f"tmux {' '.join(command[:2])} failed ({returncode}): {self.stderr or 'no message'}"
        )

    @property
    def no_server(self) -> bool:
        s = self.stderr
        return "no server running" in s or "error connecting to" in s


def resolve_socket(configured: str | None = None) -> str:
    """The socket to use: `$LANEBOARD_TMUX_SOCKET`, else config `tmux.socket`, else
    `laneboard`. A value containing `/` is a socket path (`-S`), otherwise a name (`-L`)."""
    env = os.environ.get(SOCKET_ENV, "").strip()
    return env or (configured or "").strip() or DEFAULT_SOCKET


def safe_session_name(name: str) -> str:
    """A tmux-safe session name (tmux itself turns `.` and `:` into `_`; we do it first,
    so the name we target is the name tmux stored)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name.strip())
    return cleaned or "laneboard"


def _tmux_arg(arg: str) -> str:
    """Escape an argument tmux would read as a command separator (one ending in `;`)."""
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


@dataclass(frozen=True)
class LaneWindow:
    """A running (or finished) lane as tmux reports it."""

    session: str
    lane: str
    window_id: str
    pane_id: str
    pid: int | None
    dead: bool
    status_file: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    dead_status: int | None = None

    @property
    def harness(self) -> str:
        return self.metadata.get("harness", "")

    @property
    def model(self) -> str:
        return self.metadata.get("model", "")

    @property
    def digest(self) -> str:
        return self.metadata.get("digest", "")


@dataclass(frozen=True)
class Delivery:
    """How a prompt went in: `retried` when the submit key had to be pressed twice."""

    pane_id: str
    chars: int
    submitted: bool
    verified: bool
    retried: bool
    seconds: float
    note: str = ""
    """What `paste_safe.sanitise` removed from the text (empty when nothing)."""


class TmuxServer:
    """laneboard's view of its tmux server. All methods are coroutines; none block the loop.


    `socket`: the configured `tmux.socket` (the environment variable wins, see
    `resolve_socket`). `state_dir`: where launcher, status and prompt files go (0700,
    checked before each use, `UnsafePath` when it is not private; default
    `$XDG_RUNTIME_DIR/laneboard/<socket>` or `$TMPDIR/laneboard-<uid>/<socket>`). `default_env`: variables every lane gets,
    under the lane's own. `config_file`: the tmux config the server starts with
    (`/dev/null` by default, so a user's `.tmux.conf` cannot change how lanes behave).

    This layer: the tmux command line, the private state folder, sessions and pane
    queries; the layers above add streams, lane windows and keys.
    """

    def __init__(
        self,
        socket: str | None = None,
        *,
        state_dir: str | Path | None = None,
        default_env: Mapping[str, str] | None = None,
        tmux: str = "tmux",
        config_file: str | None = "/dev/null",
        history_limit: int = 50_000,
        buffer_limit: int = 4_000_000,
        pause_after: int | None = None,
    ) -> None:
        self.socket = resolve_socket(socket)
        sock_flag = "-S" if "/" in self.socket else "-L"
        if sock_flag == "-S":
            check_socket_path(Path(self.socket))
        self.tmux_argv = [tmux, sock_flag, self.socket]
        if config_file:
            self.tmux_argv += ["-f", config_file]
        tag = socket_tag(self.socket)
        if state_dir:
            self.state_dir = Path(state_dir)
            self._private_root = self.state_dir
        else:
            self._private_root, _why = runtime_root()
            self.state_dir = self._private_root / tag
        self.default_env = dict(default_env or {})
        self.history_limit = history_limit
        self.buffer_limit = buffer_limit
        self.pause_after = pause_after
        self._env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self._controls: dict[str, ControlClient] = {}
        self._session_locks: dict[str, asyncio.Lock] = {}
        self._pane_locks: dict[str, asyncio.Lock] = {}
        self._control_locks: dict[str, asyncio.Lock] = {}

    def command_line(self, *args: str) -> list[str]:
        """The argv that runs tmux with `args` on our server. One place, so a relay for
        another machine (`remote_tmux`) can wrap it in ssh without touching the layers."""
        return [*self.tmux_argv, *args]

    async def run(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        """Run one tmux command on our server; returns stdout. Raises TmuxError."""
        proc = await asyncio.create_subprocess_exec(
            *self.command_line(*args),
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
        )
        out, err = await proc.communicate(input)
        if check and proc.returncode != 0:
            raise TmuxError(args, err.decode("utf-8", "replace"), proc.returncode or 1)
        return out.decode("utf-8", "replace")

    async def run_for(self, pane: str | None, *args: str, replay: bool = False) -> str:
        """Run one tmux command about `pane` (None: about the server) through this
        process's open control client of the pane's session (of any session for None),
        else as a tmux process (`run`); returns its output like `run`, raises TmuxError.

        Why: a forked `tmux` costs a process start per command, and for a lane on another
        host a whole SSH session (~0.5 s); the control client is already open and
        answers in well under a millisecond locally, one round trip remotely. `args` are
        tmux's words as they are (no `_tmux_arg` escape: the control path quotes each
        word, the process path escapes them here). `replay`: the command changes nothing
        (a query), so when the control client ends before answering, or does not answer,
        it is asked again as a process; a command that acts (keys, a paste) is never run
        twice: it fails instead with a TmuxError saying it may have run. A command the
        client refuses (its output could hold pane text of unknown length, such as a
        scrollback capture: `tmux_control_route`) runs as a process too.
        """
        control = self._control_of(pane) if pane is not None else self._any_control()
        if control is not None:
            try:
                lines = await control.command(*args)
            except ControlCommandError as e:
                raise TmuxError(args, str(e).removeprefix("tmux: "), 1) from None
            except ControlClientGone as e:
                if e.sent and not replay:
                    raise TmuxError(args, f"{e}; the command may have run", 1) from None
            except HarnessTimeout:
                if not replay:
                    raise
            else:
                return "".join(line + "\n" for line in lines)
        return await self.run(*map(_tmux_arg, args))

    def _control_of(self, pane: str) -> ControlClient | None:
        """The running control client that streams `pane`, or None (this process has
        none for it: it never asked for the pane's stream, or the client ended)."""
        for control in self._controls.values():
            if control.running and pane in control.streams:
                return control
        return None

    def _any_control(self) -> ControlClient | None:
        """A running control client of this server (any session), or None."""
        return next((c for c in self._controls.values() if c.running), None)

    def _private_dir(self, *parts: str) -> Path:
        """A directory under `state_dir`, created 0700 and checked private on every call
        (cheap: a few `lstat`s). Raises UnsafePath (exit 2)."""
        return ensure_private_dir(self.state_dir.joinpath(*parts), self._private_root)

    async def _put_private_file(self, path: Path, data: bytes) -> None:
        """Create a new private (0600, exclusive) file where tmux will read it. A hook:
        on another machine the file has to be written there (`remote_tmux`)."""
        create_private_file(path, data)

    async def _remove_file(self, path: Path) -> None:
        """Delete a file of ours where tmux runs; a missing file is fine."""
        path.unlink(missing_ok=True)

    async def _read_small_file(self, path: Path) -> str | None:
        """A small file of ours where tmux runs (a status file); None when unreadable."""
        try:
            return path.read_text()
        except OSError:
            return None

    def _lock(self, table: dict[str, asyncio.Lock], key: str) -> asyncio.Lock:
        lock = table.get(key)
        if lock is None:
            lock = table[key] = asyncio.Lock()
        return lock

    async def server_running(self) -> bool:
        if self._any_control() is not None:
            return True  # a client attached to it is running: so is the server
        try:
            await self.run("list-sessions", "-F", "#{session_id}")
        except TmuxError as exc:
            if exc.no_server:
                return False
            raise
        return True

    async def has_session(self, session: str) -> bool:
        try:
            await self.run("has-session", "-t", f"={safe_session_name(session)}")
        except TmuxError:
            return False
        return True

    async def ensure_session(self, session: str, *, cwd: str | Path | None = None) -> str:
        """Create the workspace session (and the server) if missing; returns its name.

        The session keeps a sleeping placeholder window, so it (and its control client)
        survive the last lane being stopped. Server-wide options are set here, before any
        lane window exists: scrollback size, remain-on-exit, no renaming. (Not a global
        `window-size manual`: with it, tmux 3.3a crashed on the next `new-window`; each lane
        window gets a fixed size from `default-size` and `resize-window` instead.)
        """
        name = safe_session_name(session)
        async with self._lock(self._session_locks, name):
            if await self.has_session(name):
                return name
            workdir = str(cwd) if cwd else str(Path.home())
            try:
                await self.run(
                    "new-session",
                    "-d",
                    "-s",
                    name,
                    "-n",
                    PLACEHOLDER_WINDOW,
                    "-x",
                    "200",
                    "-y",
                    "50",
                    "-c",
                    _tmux_arg(workdir),
                    "--",
                    "/bin/sh",
                    "-c",
                    "trap 'exit 0' HUP TERM; while :; do sleep 3600; done",
                    ";",
                    "set-option",
                    "-g",
                    "history-limit",
                    str(self.history_limit),
                    ";",
                    "set-option",
                    "-wg",
                    "remain-on-exit",
                    "on",
                    ";",
                    "set-option",
                    "-wg",
                    "automatic-rename",
                    "off",
                    ";",
                    "set-option",
                    "-wg",
                    "allow-rename",
                    "off",
                    ";",
                    "set-option",
                    "-g",
                    "focus-events",
                    "on",
                )
            except TmuxError as exc:
                if "duplicate session" not in exc.stderr:
                    raise
            return name

    async def kill_server(self) -> None:
        """Stop every lane on this socket and the server itself."""
        await self.close()
        with contextlib.suppress(TmuxError):
            await self.run("kill-server")

    async def close(self) -> None:
        """Detach this process's control clients; lanes keep running."""
        controls, self._controls = list(self._controls.values()), {}
        for control in controls:
            await control.close()

    async def _pane_info(self, pane: str, fmt: str) -> str | None:
        try:
            out = await self.run_for(pane, "display-message", "-p", "-t", pane, fmt, replay=True)
            return out.rstrip("\n")
        except TmuxError:
            return None

    async def is_alive(self, pane: str) -> bool:
        """True while the pane exists and its process runs."""
        return await self._pane_info(pane, "#{pane_dead}") == "0"

    async def pane_pid(self, pane: str) -> int | None:
        """The pid of the pane's process (the `/bin/sh` launcher; the lane's command is its
        child), or None when the pane is gone."""
        out = await self._pane_info(pane, "#{pane_pid}")
        return int(out) if out and out.isdigit() else None
