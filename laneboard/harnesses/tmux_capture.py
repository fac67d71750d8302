"""The tmux relay's reading layer: output streams, screen captures and waits.

Output arrives through one control-mode client per session (`tmux_control`), attached
before a lane window is created so its stream is complete from the first byte; the
screen and scrollback come from `capture-pane`. Every wait polls with a deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time

from laneboard.harnesses import ansi
from laneboard.harnesses.tmux_control import ControlClient, PaneStream
from laneboard.harnesses.tmux_server import LaneWindowError, Predicate, TmuxServer


class TmuxCapture(TmuxServer):
    """Reading panes: the control-mode client per session (complete output streams),
    `capture-pane` for the screen and scrollback, and waits on a predicate."""

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
                pause_after=self.pause_after, env=self._env, command_line=self.command_line,
            )  # fmt: skip
            await control.start()
            self._controls[session] = control
            return control


async def _call(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
