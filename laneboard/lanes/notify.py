"""Notifications that find the person: a lane needs them, finished, failed or hit a fence.

Why its own module, fed by supervisor events: the cockpit's toasts only reach someone who
is looking at the cockpit. A lane that raised a permission dialog, or finished the turn
someone waits on, must reach them in another window, over SSH, or through tmux. So every
supervisor event is judged here (`notice_for`), debounced per lane and kind, and sent to
each sink the config allows (`notifications.*`):

- the cockpit's terminal: BEL, OSC 9 (iTerm2, Windows Terminal, kitty, …) and OSC 777
  (`notify;title;body`: foot, urxvt, VTE). Inside tmux the OSC strings are wrapped in
  tmux's DCS passthrough (`ESC P tmux; … ESC \\`, ESC doubled) so they reach the outer
  terminal; the bell goes out plain, since tmux forwards bells itself.
- `notify-send`, when it is installed.
- `notifications.command`: an argv list run without a shell, with `LANEBOARD_LANE`,
  `LANEBOARD_EVENT` and `LANEBOARD_SUMMARY` in its environment. Nothing from a lane ever
  becomes an argument of the hook.

What a lane says (its state detail, an error) is agent text: it is made inert before any
sink sees it (`clean_text`: escape sequences and every control or format character gone,
secrets redacted, length capped), so a summary can neither inject a terminal sequence nor
end an OSC string early; for `notify-send` it is an argument after `--`, never an option.
A hook or `notify-send` runs in the background with a deadline; a failing one is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import unicodedata
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from laneboard.config.models import Config, NotificationsConfig
from laneboard.core.terminal_text import strip_escapes
from laneboard.lanes.events import (
    FenceTripped,
    LaneStateChanged,
    SupervisorEvent,
    TurnCompleted,
)

log = logging.getLogger(__name__)

NoticeKind = Literal["waiting", "finished", "failed", "fence"]
MAX_SUMMARY = 200
"""Characters of a summary kept: a notification is a pointer to the lane, not its output."""
HOOK_TIMEOUT_S = 10.0
"""How long a hook or notify-send may run before it is killed."""


@dataclass(frozen=True)
class Notice:
    lane: str
    kind: NoticeKind
    summary: str

    @property
    def title(self) -> str:
        return f"laneboard: {self.lane} {_TITLES[self.kind]}"


_TITLES: dict[NoticeKind, str] = {
    "waiting": "needs you",
    "finished": "finished its turn",
    "failed": "failed",
    "fence": "hit a fence",
}


def clean_text(text: str, limit: int = MAX_SUMMARY) -> str:
    """`text` made inert for a terminal, a desktop notification and an environment value:
    escape sequences removed, every other control (C0, DEL, C1) or format character
    (bidi overrides, zero-width) replaced by a space, whitespace runs collapsed, cut to
    `limit` characters, and `;` (the OSC 777 field separator) turned into `,`."""
    text = strip_escapes(text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        out.append(" " if cat in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else ch)
    cleaned = " ".join("".join(out).split()).replace(";", ",")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def notice_for(ev: SupervisorEvent) -> Notice | None:
    """The notice an event deserves, if any (before switches and debouncing)."""
    if isinstance(ev, LaneStateChanged):
        if ev.state == "waiting":
            return Notice(ev.lane, "waiting", ev.detail or "waiting for input or a permission")
        if ev.state == "failed":
            return Notice(ev.lane, "failed", ev.detail or "the lane failed")
        return None
    if isinstance(ev, FenceTripped):
        return Notice(ev.lane, "fence", ev.message)
    if isinstance(ev, TurnCompleted):
        result = ev.result
        if result.state == "failed":
            return Notice(ev.lane, "failed", result.error or "the turn failed")
        return Notice(ev.lane, "finished", f"turn {result.state}: {ev.prompt}")
    return None


def terminal_sequence(notice: Notice, *, bell: bool, osc: bool, in_tmux: bool) -> str:
    """What is written to the cockpit's terminal for `notice` (summary already clean)."""
    title, body = clean_text(notice.title, 80), clean_text(notice.summary)
    parts: list[str] = []
    if osc:
        for seq in (f"\x1b]9;{title}: {body}\x07", f"\x1b]777;notify;{title};{body}\x07"):
            if in_tmux:
                seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
            parts.append(seq)
    if bell:
        parts.append("\x07")
    return "".join(parts)


class Notifier:
    """Turns supervisor events into notifications (see the module docstring).

    `write` puts text on the cockpit's terminal (None: no terminal sink); `redact`
    replaces secrets in a summary; `environ` is where `TMUX` is looked up and the base of
    a hook's environment; `clock` is for debouncing. `sent` counts what went out.
    """

    def __init__(
        self,
        cfg: NotificationsConfig,
        *,
        write: Callable[[str], None] | None = None,
        redact: Callable[[str], str] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.write = write
        self.redact = redact
        self.environ = dict(os.environ if environ is None else environ)
        self.clock = clock
        self.sent: list[Notice] = []
        self._last: dict[tuple[str, NoticeKind], float] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        self._notify_send = shutil.which("notify-send", path=self.environ.get("PATH"))

    def wants(self, notice: Notice) -> bool:
        """Config switches and the per-lane debounce; records the notice as sent if so."""
        if self.cfg.quiet or not getattr(self.cfg.events, notice.kind):
            return False
        key = (notice.lane, notice.kind)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.cfg.debounce_s:
            return False
        self._last[key] = now
        return True

    def handle(self, ev: SupervisorEvent) -> Notice | None:
        """Judge one event and notify if it deserves it; returns what was sent."""
        notice = notice_for(ev)
        if notice is None or not self.wants(notice):
            return None
        summary = notice.summary
        if self.redact is not None:
            summary = self.redact(summary)
        notice = Notice(notice.lane, notice.kind, clean_text(summary))
        self.sent.append(notice)
        self._to_terminal(notice)
        if self.cfg.desktop and self._notify_send is not None:
            argv = [self._notify_send, "--app-name=laneboard", "--", notice.title, notice.summary]
            self._spawn(argv, None)
        if self.cfg.command:
            env = {
                **self.environ,
                "LANEBOARD_LANE": notice.lane,
                "LANEBOARD_EVENT": notice.kind,
                "LANEBOARD_SUMMARY": notice.summary,
            }
            self._spawn(list(self.cfg.command), env)
        return notice

    async def run(self, events: AsyncIterable[SupervisorEvent]) -> None:
        """Notify for every event of `events` (a supervisor subscription) until it ends."""
        try:
            async for ev in events:
                self.handle(ev)
        finally:
            await self.close()

    async def close(self, timeout: float = HOOK_TIMEOUT_S) -> None:
        """Wait (bounded) for hooks still running."""
        if self._jobs:
            await asyncio.wait(set(self._jobs), timeout=timeout)

    def _to_terminal(self, notice: Notice) -> None:
        if self.write is None or not (self.cfg.bell or self.cfg.osc):
            return
        seq = terminal_sequence(
            notice, bell=self.cfg.bell, osc=self.cfg.osc, in_tmux=bool(self.environ.get("TMUX"))
        )
        try:
            self.write(seq)
        except (OSError, ValueError) as e:  # a closed terminal must not stop the cockpit
            log.warning("could not write a notification to the terminal: %s", e)

    def _spawn(self, argv: list[str], env: dict[str, str] | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("notification %s not run: no event loop", argv[0])
            return
        task = loop.create_task(self._run_hook(argv, env), name=f"notify {argv[0]}")
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _run_hook(self, argv: list[str], env: dict[str, str] | None) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            log.warning("notification hook %s could not run: %s", argv[0], e)
            return
        try:
            status = await asyncio.wait_for(proc.wait(), HOOK_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            log.warning("notification hook %s killed after %gs", argv[0], HOOK_TIMEOUT_S)
            return
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        if status != 0:
            log.warning("notification hook %s exited with status %d", argv[0], status)


def terminal_writer(stream_fd: int) -> Callable[[str], None] | None:
    """A writer to `stream_fd` when it is a terminal (escape sequences must never land in
    a log file or a pipe), else None."""
    if not os.isatty(stream_fd):
        return None

    def write(text: str) -> None:
        os.write(stream_fd, text.encode("utf-8", "replace"))

    return write


def notifier_for(
    cfg: Config,
    write: Callable[[str], None] | None,
    environ: Mapping[str, str] | None = None,
) -> Notifier:
    """The notifier a supervisor front end (`up --headless`, the cockpit) runs: the
    config's switches, and summaries redacted like prompts when redaction is on."""
    redact: Callable[[str], str] | None = None
    if cfg.artifacts.redaction:
        from laneboard.lanes.redaction import make_redactor

        redactor = make_redactor(cfg)

        def redact(text: str) -> str:
            return redactor.redact(text).text

    return Notifier(cfg.notifications, write=write, redact=redact, environ=environ)
