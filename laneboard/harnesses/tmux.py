"""The tmux relay: lanes as windows on laneboard's own tmux server.

tmux is the session store. Every lane is one window (one pane) in one session per
workspace, on a private server (`tmux -L <socket>`, config `tmux.socket`, default
`laneboard`, overridden by `$LANEBOARD_TMUX_SOCKET`), never the user's default server.
What a lane is lives in user options on its window (`@laneboard_lane`, `@laneboard_meta`,
…), so any laneboard process can `list_lanes()` and adopt what is running; lanes outlive
the cockpit with their scrollback.

Targets are always ids (`%N` panes, `@N` windows) or `=session`, never a bare name that
tmux would prefix-match (`lane` must never hit `lane2`).

Launcher, status and prompt files live in a private state directory
(`$XDG_RUNTIME_DIR/laneboard/<socket>` when that is private, else
`$TMPDIR/laneboard-<uid>/<socket>`), checked before every use: ours, 0700, no symlinks,
files created `O_EXCL | O_NOFOLLOW` 0600 (see `private_fs`). Another local user must never
be able to swap a launcher that tmux then runs as you.

A lane's command runs under `/bin/sh` from a one-shot launcher file (0600, deleted as it
starts): it exports the lane's environment (so API keys never sit on a command line or in
tmux's environment), runs the argv verbatim, and writes the exit status to a status file,
because `#{pane_dead_status}` was seen empty in tmux 3.3a. Windows keep `remain-on-exit`,
so a finished lane keeps its scrollback until `kill_lane`.

Prompts go in as a bracketed paste from a temp file (`load-buffer` + `paste-buffer -p`),
which survives quotes, `$VARS`, backticks, unicode and 100 KB; the submit key is a separate
step, retried once when the caller's `verify` predicate says the prompt was not taken.
Every text that goes into a pane (pastes and literal `send-keys`) is first passed through
`paste_safe.sanitise`: ESC, the other C0 controls but tab and newline, DEL and C1 would be
read as keys (an early paste-end marker, Ctrl-C, Ctrl-D), so they are removed, with a log
note. No other module runs `send-keys`, `paste-buffer` or `load-buffer`.

Output arrives through a control-mode client per session (see `tmux_control.py`). Every other
call is one `tmux` process run with asyncio, so nothing blocks the event loop.

Errors: `TmuxError` (a `HarnessError`) when a tmux command fails, `HarnessTimeout` when a
wait passes its deadline, `LaneWindowError` (also a `HarnessError`) when a lane window
already exists or is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import re
import shlex
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from laneboard.errors import HarnessError, HarnessTimeout
from laneboard.harnesses import ansi
from laneboard.harnesses.paste_safe import REMOVED, Sanitised, sanitise
from laneboard.harnesses.private_fs import (
    check_socket_path,
    create_private_file,
    ensure_private_dir,
    runtime_root,
    socket_tag,
)
from laneboard.harnesses.tmux_control import ControlClient, PaneStream

log = logging.getLogger(__name__)

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


class TmuxRelay:
    """laneboard's view of its tmux server. All methods are coroutines; none block the loop.

    `socket`: the configured `tmux.socket` (the environment variable wins, see
    `resolve_socket`). `state_dir`: where launcher, status and prompt files go (0700,
    checked before each use, `UnsafePath` when it is not private; default
    `$XDG_RUNTIME_DIR/laneboard/<socket>` or `$TMPDIR/laneboard-<uid>/<socket>`). `default_env`: variables every lane gets,
    under the lane's own. `config_file`: the tmux config the server starts with
    (`/dev/null` by default, so a user's `.tmux.conf` cannot change how lanes behave).
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

    # -- plumbing ---------------------------------------------------------------------------

    async def run(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        """Run one tmux command on our server; returns stdout. Raises TmuxError."""
        proc = await asyncio.create_subprocess_exec(
            *self.tmux_argv,
            *args,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
        )
        out, err = await proc.communicate(input)
        if check and proc.returncode != 0:
            raise TmuxError(args, err.decode("utf-8", "replace"), proc.returncode or 1)
        return out.decode("utf-8", "replace")

    def _private_dir(self, *parts: str) -> Path:
        """A directory under `state_dir`, created 0700 and checked private on every call
        (cheap: a few `lstat`s). Raises UnsafePath (exit 2)."""
        return ensure_private_dir(self.state_dir.joinpath(*parts), self._private_root)

    def _lock(self, table: dict[str, asyncio.Lock], key: str) -> asyncio.Lock:
        lock = table.get(key)
        if lock is None:
            lock = table[key] = asyncio.Lock()
        return lock

    # -- server and sessions ----------------------------------------------------------------

    async def server_running(self) -> bool:
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

    # -- lanes ------------------------------------------------------------------------------

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
            status.unlink(missing_ok=True)
            merged = {**self.default_env, **(env or {})}
            launcher = lane_dir / f"{lane}.{uuid.uuid4().hex[:8]}.launch.sh"
            script = _launch_script(argv, merged, str(cwd), str(status))
            create_private_file(launcher, script.encode("utf-8"))
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
                launcher.unlink(missing_ok=True)
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
            out = await self.run("list-panes", "-a", "-F", _PANE_FORMAT)
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

    async def _pane_info(self, pane: str, fmt: str) -> str | None:
        try:
            return (await self.run("display-message", "-p", "-t", pane, fmt)).rstrip("\n")
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

    async def exit_status(self, target: LaneWindow | str) -> int | None:
        """The exit status of a finished lane; None while it runs or when unknown."""
        lane = target if isinstance(target, LaneWindow) else await self._lane_by_pane(target)
        if lane is None:
            return None
        if lane.status_file:
            with contextlib.suppress(OSError, ValueError):
                return int(Path(lane.status_file).read_text().strip())
        info = await self._pane_info(lane.pane_id, "#{pane_dead}\t#{pane_dead_status}")
        if info and info.startswith("1\t") and info[2:].lstrip("-").isdigit():
            return int(info[2:])
        return None

    async def _lane_by_pane(self, pane: str) -> LaneWindow | None:
        for lane in await self.list_lanes():
            if lane.pane_id == pane:
                return lane
        return None

    # -- input ------------------------------------------------------------------------------

    async def send_keys(self, pane: str, *keys: str, literal: bool = False) -> Sanitised:
        """`send-keys` to an exact pane: key names (`Enter`, `Escape`, `C-c`) or, with
        `literal`, text typed as is — sanitised first (`paste_safe`), so text can never
        carry a control key. A key name holding a control character is refused
        (HarnessError): tmux would type an unknown name as text."""
        if not literal:
            for key in keys:
                if any(c in REMOVED or c in "\t\n" for c in key):
                    raise HarnessError(
                        f"send-keys: {key!r} is not a tmux key name (it holds a control "
                        "character); send text with literal=True"
                    )
            safe = Sanitised(" ".join(keys))
        else:
            cleaned = [sanitise(k) for k in keys]
            keys = tuple(c.text for c in cleaned if c.text)
            removed: dict[str, int] = {}
            for c in cleaned:
                for name, n in c.removed.items():
                    removed[name] = removed.get(name, 0) + n
            safe = Sanitised("".join(keys), removed, sum(c.replaced for c in cleaned))
            if safe.changed:
                log.warning("keys for %s: %s", pane, safe.note)
        if keys:
            await self.run(
                "send-keys", "-t", pane, *(["-l"] if literal else []), "--", *map(_tmux_arg, keys)
            )
        return safe

    async def paste(
        self, pane: str, text: str | bytes, *, bracketed: bool = True, keep_newlines: bool = False
    ) -> Sanitised:
        """Paste `text` into the pane through a uniquely named buffer, deleted afterwards.

        The text is sanitised first (`paste_safe`: no ESC, no C0 controls but tab and
        newline, CR made a newline) so it arrives as text, never as keys; what was removed
        is logged and returned. `bracketed` wraps it in bracketed-paste markers when the
        program asked for them (tmux decides). tmux turns line feeds into carriage
        returns, as a terminal paste does, unless `keep_newlines`.
        """
        safe = sanitise(text)
        if safe.changed:
            log.warning("prompt for %s: %s", pane, safe.note)
        if not safe.text:
            return safe
        path = create_private_file(
            self._private_dir("prompts") / f"{uuid.uuid4().hex}.txt", safe.text.encode("utf-8")
        )
        buffer = f"lb-{uuid.uuid4().hex[:12]}"
        flags = "-d" + ("p" if bracketed else "") + ("r" if keep_newlines else "")
        try:
            await self.run(
                "load-buffer", "-b", buffer, _tmux_arg(str(path)),
                ";", "paste-buffer", flags, "-b", buffer, "-t", pane,
            )  # fmt: skip
        except TmuxError:
            with contextlib.suppress(TmuxError):
                await self.run("delete-buffer", "-b", buffer)
            raise
        finally:
            path.unlink(missing_ok=True)
        return safe

    async def deliver(
        self,
        pane: str,
        text: str | bytes,
        *,
        submit: bool = True,
        submit_key: str = "Enter",
        submit_delay: float = 0.0,
        before_submit: Predicate | None = None,
        verify: Predicate | None = None,
        verify_timeout: float = 5.0,
        bracketed: bool = True,
    ) -> Delivery:
        """Paste `text`, then press `submit_key`, then make sure it was taken.

        Order: paste; wait for `before_submit` (if given, up to `verify_timeout`; a
        condition such as "the paste is on screen"); wait `submit_delay` more (an input
        quirk, not synchronisation: Codex reads keys that come fast after other keys as
        part of a paste and needs ~0.3 s); press the key; wait up to `verify_timeout`
        for `verify` ("the screen went busy", "the transcript grew"). If `verify` stays
        false the key is pressed ONCE more. Deliveries to one pane are serialized.
        Raises HarnessTimeout when `verify` is still false after the retry. The text is
        sanitised (see `paste`); `Delivery.chars` counts what was pasted, `note` says what
        was removed.
        """
        started = time.monotonic()
        async with self._lock(self._pane_locks, pane):
            safe = await self.paste(pane, text, bracketed=bracketed)
            n, note = len(safe.text), safe.note
            if not submit:
                return Delivery(pane, n, False, False, False, time.monotonic() - started, note)
            if before_submit is not None:
                await self.wait_until(before_submit, verify_timeout, pane=pane)
            if submit_delay > 0:
                await asyncio.sleep(submit_delay)
            await self.send_keys(pane, submit_key)
            if verify is None:
                return Delivery(pane, n, True, False, False, time.monotonic() - started, note)
            if await self.wait_until(verify, verify_timeout, pane=pane):
                return Delivery(pane, n, True, True, False, time.monotonic() - started, note)
            log.info("prompt to %s not taken; pressing %s again", pane, submit_key)
            await self.send_keys(pane, submit_key)
            if await self.wait_until(verify, verify_timeout, pane=pane):
                return Delivery(pane, n, True, True, True, time.monotonic() - started, note)
        raise HarnessTimeout(
            f"the prompt pasted into {pane} was not submitted: {submit_key} pressed twice and "
            f"the check still failed after {verify_timeout:.1f}s each; look at the pane"
        )

    async def wait_until(
        self, predicate: Predicate, timeout: float, *, pane: str | None = None
    ) -> bool:
        """Re-check `predicate` until true or `timeout`; False on timeout.

        With `pane`, it is re-checked as soon as that pane writes output (else every
        50–250 ms), which is when screen-based conditions can change.
        """
        deadline = time.monotonic() + timeout
        stream = self._known_stream(pane) if pane else None
        interval = 0.05
        while True:
            if await _call(predicate):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if stream is not None and not stream.closed:
                await stream.wait(min(interval, remaining))
            else:
                await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, 0.25)

    # -- output -----------------------------------------------------------------------------

    async def capture(self, pane: str, *, styled: bool = False, scrollback: bool = True) -> str:
        """The pane's text: all scrollback plus the screen (or the screen only), wrapped
        lines joined. Plain text unless `styled` (then SGR escapes are kept, `-e`)."""
        args = ["capture-pane", "-p", "-t", pane]
        if scrollback:
            args += ["-J", "-S", "-", "-E", "-"]
        if styled:
            args.append("-e")
        out = await self.run(*args)
        return out if styled else ansi.strip(out)

    async def screen(self, pane: str, *, styled: bool = False) -> str:
        """The visible screen only (what a person attached to the pane would see).

        Asked through the session's control client when this process has one for the
        pane (no `tmux` process per call: a screen mirror calls this up to 10×/s), else
        by running `tmux`.
        """
        control = self._control_of(pane)
        if control is not None:
            args = ["capture-pane", "-p", "-t", pane] + (["-e"] if styled else [])
            with contextlib.suppress(HarnessError):
                text = "\n".join(await control.command(*args)) + "\n"
                return text if styled else ansi.strip(text)
        return await self.capture(pane, styled=styled, scrollback=False)

    def _control_of(self, pane: str) -> ControlClient | None:
        for control in self._controls.values():
            if control.running and pane in control.streams:
                return control
        return None

    async def stream(self, pane: str) -> PaneStream:
        """The live output stream of `pane` (attaches the session's control client if
        needed; output from before that moment is only in `capture`)."""
        known = self._known_stream(pane)
        if known is not None and not known.closed:
            return known
        info = await self._pane_info(pane, "#{session_name}\t#{window_id}")
        if not info:
            raise LaneWindowError(f"tmux pane {pane} does not exist on socket {self.socket!r}")
        session, window = info.split("\t")
        control = await self._control_for(session)
        control.bind_window(window, pane)
        return control.stream(pane)

    def _known_stream(self, pane: str | None) -> PaneStream | None:
        for control in self._controls.values():
            if pane in control.streams:
                return control.streams[pane]
        return None

    async def _control_for(self, session: str) -> ControlClient:
        """The session's one control client, attached on first use.

        Serialised per session: lanes started in parallel would otherwise each attach a
        client, and the losers would never be closed (their reader tasks outlive the loop).
        """
        async with self._lock(self._control_locks, session):
            control = self._controls.get(session)
            if control is not None and control.running:
                return control
            if control is not None:
                await control.close()
            control = ControlClient(
                self.tmux_argv, session, buffer_limit=self.buffer_limit,
                pause_after=self.pause_after, env=self._env,
            )  # fmt: skip
            await control.start()
            self._controls[session] = control
            return control


async def _call(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


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
