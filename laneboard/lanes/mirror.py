"""Screen mirrors: what a full-screen agent (Claude Code, interactive Codex) shows, as text.

A line-oriented lane (a shell, aider, a command lane) is mirrored by appending its pane
output. A full-screen program draws on the terminal's alternate screen with cursor moves,
so its raw output is not readable as lines and tmux keeps no scrollback for it; the only
faithful mirror is the visible screen itself. `ScreenMirror` watches the pane's output
stream (pushed by tmux control mode, no polling) and, when something was drawn, captures
the styled screen — at most once per `interval`, always once more after the last change —
and hands it to `publish`. Claude's spinner redraws many times a second; the interval
bounds the cost to ~10 captures/s per visible busy lane, each a control-mode command
rather than a `tmux` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from laneboard.errors import HarnessError
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.lanes.events import LaneScreen

if TYPE_CHECKING:
    from laneboard.lanes.supervisor import Supervisor

log = logging.getLogger(__name__)

#: Seconds between two captures of one lane: the ~10 Hz a person can follow.
DEFAULT_INTERVAL = 0.1


class ScreenMirror:
    """Publishes `pane`'s styled visible screen after each burst of output."""

    def __init__(
        self,
        relay: TmuxRelay,
        pane: str,
        publish: Callable[[str], None],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.relay = relay
        self.pane = pane
        self.publish = publish
        self.interval = interval
        self.captures = 0
        self._task: asyncio.Task[None] | None = None
        self._last = ""

    def start(self) -> None:
        """Begin mirroring (publishes the current screen first)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"mirror {self.pane}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _capture(self) -> None:
        try:
            screen = await self.relay.screen(self.pane, styled=True)
        except HarnessError as exc:
            log.debug("mirror of %s: capture failed: %s", self.pane, exc)
            return
        self.captures += 1
        if screen != self._last:
            self._last = screen
            self.publish(screen)

    async def _run(self) -> None:
        stream = await self.relay.stream(self.pane)
        await self._capture()
        last_capture = time.monotonic()
        seen = stream.position
        while not stream.closed:
            if stream.position == seen:
                await stream.wait()
                continue
            # rate limit, not synchronisation: coalesce a burst of redraws into one capture
            delay = last_capture + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            seen = stream.position
            await self._capture()
            last_capture = time.monotonic()


class LaneMirrors:
    """The screen mirrors a viewer (the cockpit) wants: one per visible full-screen lane.

    `show(lanes)` starts mirrors for those lanes that run a full-screen program in a pane
    (their screen goes out as `LaneScreen` events on the supervisor's hub) and stops the
    rest, so a hidden lane costs nothing. Line-oriented lanes are left to `LaneOutput`.
    """

    def __init__(self, supervisor: Supervisor, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.supervisor = supervisor
        self.interval = interval
        self.mirrors: dict[str, ScreenMirror] = {}

    async def show(self, lanes: Iterable[str]) -> None:
        wanted = set(lanes)
        for lane in list(self.mirrors):
            mirror = self.mirrors[lane]
            if lane not in wanted or not mirror.running:
                del self.mirrors[lane]
                await mirror.stop()
        for lane in wanted - set(self.mirrors):
            pane = await self._full_screen_pane(lane)
            if pane is None:
                continue
            relay = self.supervisor.relays.for_lane(lane)

            def publish(screen: str, lane: str = lane) -> None:
                self.supervisor.hub.publish(LaneScreen(lane, screen))

            mirror = ScreenMirror(relay, pane, publish, interval=self.interval)
            mirror.start()
            self.mirrors[lane] = mirror

    async def close(self) -> None:
        await self.show(())

    async def _full_screen_pane(self, lane: str) -> str | None:
        rt = self.supervisor.lanes.get(lane)
        harness = rt.harness if rt is not None else None
        if harness is None:
            return None
        stream = await harness.output_stream()
        if stream is None or stream.closed:
            return None
        relay = self.supervisor.relays.for_lane(lane)
        try:
            alternate = await relay.run("display", "-p", "-t", stream.pane_id, "#{alternate_on}")
        except HarnessError:
            return None
        return stream.pane_id if alternate.strip() == "1" else None
