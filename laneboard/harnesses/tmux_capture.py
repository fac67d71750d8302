"""The tmux relay's reading layer: output streams, screen captures and waits.

Output arrives through one control-mode client per session (`tmux_control`), attached
before a lane window is created so its stream is complete from the first byte; the
screen and scrollback come from `capture-pane`. Every wait polls with a deadline.

A control client that ends on its own (killed, out of step, too far behind) is not the
end of its panes: the relay asks a tmux PROCESS which panes live, attaches a successor
that takes the streams over (with backoff, `REVIVE_ATTEMPTS` tries, each logged) and
fills in what the panes wrote meanwhile (`tmux_control_gap`). A stream ends only when
its pane or the server is gone, or no successor could attach; a lane's turn reports an
exit only then. A remote relay whose SSH link is down does not try: the link's own
reconnect (the supervisor's `_follow_link`) re-adopts those lanes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections import deque
from typing import Any

from laneboard.errors import HarnessError
from laneboard.harnesses import ansi
from laneboard.harnesses.tmux_control import ControlClient, PaneStream
from laneboard.harnesses.tmux_control_gap import GAP_OPTION, buffer_name, gap_prelude, gap_text
from laneboard.harnesses.tmux_server import LaneWindowError, Predicate, TmuxError, TmuxServer

log = logging.getLogger(__name__)

REVIVE_ATTEMPTS = 6
"""Successive tries to attach a successor client before the streams are ended."""
REVIVE_DELAY = 0.2
"""Seconds before the second try, doubled each time (at most 5 s)."""
_SEEN_TAIL = 65_536
"""Characters of a stream's end that `_gap` hands to `gap_text` to find it by."""
REVIVE_BURST = 10
"""Successors attached within `REVIVE_WINDOW` seconds after which the streams end."""
REVIVE_WINDOW = 60.0


class TmuxCapture(TmuxServer):
    """Reading panes: the control-mode client per session (complete output streams),
    `capture-pane` for the screen and scrollback, and waits on a predicate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._revivers: set[asyncio.Task[None]] = set()
        self._successions: dict[str, deque[float]] = {}  # when successors attached

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

    async def capture(self, pane: str, *, styled: bool = False, scrollback: bool = True) -> str:
        """The pane's text: all scrollback plus the screen (or the screen only), wrapped
        lines joined. Plain text unless `styled` (then SGR escapes are kept, `-e`).

        Asked through the session's control client when this process has one for the
        pane (no `tmux` process per call: a screen mirror and the send path's checks call
        this many times a second), else by running `tmux` (`run_for`). Only the screen
        can go through the client: tmux 3.3a passes a command's output lines through it
        unescaped, so the client takes a capture only when it knows beforehand how many
        lines the answer holds (the pane's height, asked in the same command line) and
        refuses the rest — a joined scrollback capture runs as a tmux process
        (`tmux_control_route`)."""
        args = ["capture-pane", "-p", "-t", pane]
        if scrollback:
            args += ["-J", "-S", "-", "-E", "-"]
        if styled:
            args.append("-e")
        out = await self.run_for(pane, *args, replay=True)
        return out if styled else ansi.strip(out)

    async def screen(self, pane: str, *, styled: bool = False) -> str:
        """The visible screen only (what a person attached to the pane would see)."""
        return await self.capture(pane, styled=styled, scrollback=False)

    async def stream(self, pane: str) -> PaneStream:
        """The live output stream of `pane` (attaches the session's control client if
        needed; output from before that moment is only in `capture`)."""
        known = self._known_stream(pane)
        if known is not None and not known.closed:
            if known.suspended:  # its client ended: the successor first (`_revive`)
                session = next((n for n, c in self._controls.items() if pane in c.streams), None)
                if session is not None and await self._transport_up():
                    with contextlib.suppress(HarnessError):
                        await self._control_for(session)
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
            old = self._controls.get(session)
            if old is not None and old.running:
                return old
            carried: dict[str, PaneStream] = {}
            if old is not None:
                await old.close(end_streams=False)
                carried = await self._living_streams(session, old)
            control = await self._attach(session, old, carried)
            self._controls[session] = control
            if old is not None:  # a succession (`_revive` bounds how often)
                self._successions.setdefault(session, deque()).append(time.monotonic())
            task = asyncio.get_running_loop().create_task(
                self._revive(session, control), name=f"tmux-revive-{session}"
            )
            self._revivers.add(task)
            task.add_done_callback(self._revivers.discard)
            return control

    async def _attach(
        self, session: str, old: ControlClient | None, carried: dict[str, PaneStream]
    ) -> ControlClient:
        """Start a control client for `session` that takes `carried` (the open streams of
        `old`, the client that ended) over and fills in what their panes wrote while none
        was attached (`tmux_control_gap`)."""
        token = uuid.uuid4().hex[:8]
        control = ControlClient(
            self.tmux_argv, session, buffer_limit=self.buffer_limit,
            pause_after=self.pause_after, env=self._env, command_line=self.command_line,
            keep_streams=True, streams=carried,
            window_panes={w: p & carried.keys() for w, p in old.window_panes.items()}
            if old is not None else None,
            prelude=gap_prelude(list(carried), token),  # dead panes' last words too
        )  # fmt: skip
        for stream in carried.values():
            stream.hold()
        try:
            await control.start()
        except BaseException as exc:
            for stream in carried.values():
                stream.unhold()
            with contextlib.suppress(Exception):  # cancelled mid-attach: no orphan client
                await control.close(end_streams=False)
            if isinstance(exc, HarnessError):  # the history copies are not needed now
                for pane in carried:
                    with contextlib.suppress(HarnessError):
                        await self.run("delete-buffer", "-b", buffer_name(token, pane))
            raise
        # two tmux processes per pane (tmux 3.3a loses a display-message's output after a
        # show-buffer on one command line); a few at a time, as over SSH each is a session
        # of the link's master (sshd's MaxSessions)
        limit = asyncio.Semaphore(4)

        async def fill(stream: PaneStream) -> None:
            async with limit:
                gap = await self._gap(stream, token)
            stream.release(gap)

        try:
            await asyncio.gather(*(fill(stream) for stream in carried.values()))
        except BaseException:  # cancelled: not registered, so no client may stay behind
            with contextlib.suppress(Exception):
                await control.close(end_streams=False)
            raise
        finally:
            for stream in carried.values():
                if stream.holding:  # cancelled while reading: unknown, and counted
                    stream.release(None)
        if old is not None:
            log.info("tmux control client for %s re-attached; %d stream(s) carried on",
                     session, len(carried))  # fmt: skip
        return control

    async def _living_streams(self, session: str, old: ControlClient) -> dict[str, PaneStream]:
        """The open streams of `old` whose panes still exist, asked of a tmux process (the
        control path is what failed); a dead pane's stream is marked dead. The others end:
        their window closed, or the session or server is gone (then TmuxError)."""
        open_ = {p: s for p, s in old.streams.items() if not s.closed}
        if not open_:
            return {}
        try:
            out = await self.run(
                "list-panes", "-s", "-t", f"={session}", "-F", "#{pane_id}\t#{pane_dead}"
            )
        except TmuxError as exc:
            if _gone(exc):
                old.end_streams()  # the server or the session is gone: so are its panes
            raise
        states = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
        for pane, stream in list(open_.items()):
            if pane not in states:
                stream.close()
                del open_[pane]
            elif states[pane] == "1":
                stream.mark_dead(True)
        return open_

    async def _gap(self, stream: PaneStream, token: str) -> str | None:
        """What the pane wrote while no client was attached (`tmux_control_gap`), read
        from the buffer and option the successor's attach line filled; None if unknown."""
        pane, buffer = stream.pane_id, buffer_name(token, stream.pane_id)
        try:
            captured = await self.run("show-buffer", "-b", buffer)
            column = await self.run(
                "display-message", "-p", "-t", pane, f"#{{{GAP_OPTION}}}", ";",
                "delete-buffer", "-b", buffer, ";", "set-option", "-p", "-u", "-t", pane, GAP_OPTION,
            )  # fmt: skip
        except HarnessError as exc:  # a TmuxError, or the SSH link of a remote relay
            log.warning("%s: cannot read the output written while no client was attached: %s",
                        pane, exc)  # fmt: skip
            with contextlib.suppress(HarnessError):
                await self.run("delete-buffer", "-b", buffer)
            return None
        column, _, alternate = column.strip().partition(" ")
        if alternate == "1":
            return None  # a full-screen program: its history is not its output stream
        # the tail is what is looked for (`gap_text` matches its last lines): not all of
        # the up to `limit` characters a stream retains
        seen = stream.text_since(max(stream.start, stream.position - _SEEN_TAIL))
        return gap_text(seen, captured, int(column) if column.isdigit() else None)

    async def _revive(self, session: str, control: ControlClient) -> None:
        """When `control` ends on its own, attach a successor that carries its streams on
        (module docstring); after `REVIVE_ATTEMPTS` failed tries the streams end.

        A client that keeps ending right after it attached (a user's `client-attached`
        hook that detaches it) would be replaced for ever: successions are counted per
        session, the third within `REVIVE_WINDOW` waits (doubling from `REVIVE_DELAY`),
        and after `REVIVE_BURST` the streams end."""
        await control.exited.wait()
        recent = self._successions.setdefault(session, deque())
        while recent and time.monotonic() - recent[0] > REVIVE_WINDOW:
            recent.popleft()
        if len(recent) >= REVIVE_BURST and not control.detached:
            log.error("tmux control client for %s ended %d times within %.0fs; its streams end "
                      "(the lanes run on)", session, len(recent), REVIVE_WINDOW)  # fmt: skip
            if self._controls.get(session) is control:
                control.end_streams()
            return
        if len(recent) >= 2:
            await asyncio.sleep(min(REVIVE_DELAY * 2 ** (len(recent) - 2), 5.0))  # backoff
        delay = REVIVE_DELAY
        for attempt in range(1, REVIVE_ATTEMPTS + 1):
            if control.detached or self._controls.get(session) is not control:
                return  # closed on purpose, or a caller already attached a successor
            if not any(not s.closed for s in control.streams.values()):
                return  # nothing left to carry on: the next `stream()` attaches afresh
            if not await self._transport_up():
                log.warning("tmux control client for %s ended with the link; the link's "
                            "reconnect takes over", session)  # fmt: skip
                break
            log.warning("tmux control client for %s ended (%s); re-attaching (try %d of %d)",
                        session, control.exit_reason, attempt, REVIVE_ATTEMPTS)  # fmt: skip
            try:
                await self._control_for(session)
                return
            except TmuxError as exc:
                if _gone(exc):
                    return  # `_living_streams` ended the streams
                log.warning("tmux control client for %s: re-attach failed: %s", session, exc)
            except HarnessError as exc:
                log.warning("tmux control client for %s: re-attach failed: %s", session, exc)
            await asyncio.sleep(delay)  # backoff between tries, not a synchronisation
            delay = min(delay * 2, 5.0)
        else:
            log.error("tmux control client for %s: no successor after %d tries; its streams "
                      "end", session, REVIVE_ATTEMPTS)  # fmt: skip
        if self._controls.get(session) is control:
            control.end_streams()

    async def _transport_up(self) -> bool:
        """Whether tmux can be reached without reconnecting anything (a hook: a remote
        relay asks whether its SSH link's master answers)."""
        return True

    async def close(self) -> None:
        """Detach this process's control clients (their streams end); lanes keep running."""
        revivers, self._revivers = set(self._revivers), set()
        for task in revivers:
            task.cancel()
        await super().close()


def _gone(exc: TmuxError) -> bool:
    """The tmux server or the session is gone (tmux 3.3a's words for `-t =SESSION` when
    the session is missing are "can't find window"; a server exiting as it is asked says
    "server exited unexpectedly")."""
    said = exc.stderr
    return exc.no_server or any(
        words in said
        for words in ("can't find session", "can't find window", "server exited unexpectedly")
    )


async def _call(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
