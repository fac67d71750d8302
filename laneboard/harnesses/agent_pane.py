"""What an interactive harness needs from a tmux pane, and the waits built on it.

The claude-code and codex harnesses drive their CLI through this small protocol rather
than the relay's full API, so their turn logic can be read (and tested) apart from tmux.
`RelayPane` in each harness adapts the tmux relay to it.

Every wait here polls a condition with a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from laneboard.errors import HarnessTimeout
from laneboard.harnesses.tmux import LaneWindow, TmuxRelay

T = TypeVar("T")

#: How often screens and transcripts are polled while waiting on an agent.
POLL_INTERVAL = 0.1


class Pane(Protocol):
    """One agent's tmux pane."""

    async def capture(self) -> str:
        """The visible rows as plain text (no ANSI), one line per row."""

    async def paste(self, text: str) -> None:
        """Insert `text` with bracketed paste (through a tmux buffer), without submitting."""

    async def keys(self, *keys: str) -> None:
        """Send tmux key names (`Enter`, `Escape`, `BSpace`)."""

    async def alive(self) -> bool:
        """Whether the agent process still runs in the pane."""

    async def pid(self) -> int | None:
        """The pane's process id, if known."""

    async def close(self) -> None:
        """Kill the pane (and its window)."""

    async def changed(self, within: float) -> None:
        """Return when the pane may have changed (new output), or after `within` seconds."""


async def poll_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    what: str,
    pane: Pane | None = None,
) -> T:
    """Call `probe` until it returns something other than None; HarnessTimeout after `within` s.

    With `pane`, the next check waits for the pane's next output (at most POLL_INTERVAL).
    """
    deadline = time.monotonic() + within
    while True:
        got = await probe()
        if got is not None:
            return got
        if time.monotonic() >= deadline:
            raise HarnessTimeout(f"{what}: still waiting after {within:.0f}s")
        await pause(pane)


async def pause(pane: Pane | None) -> None:
    """Wait for the pane's next output, or POLL_INTERVAL at most (never a fixed delay
    used as synchronisation: every caller re-checks its condition afterwards)."""
    if pane is None:
        await asyncio.sleep(POLL_INTERVAL)
    else:
        await pane.changed(POLL_INTERVAL)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RelayPane:
    """A lane's pane on laneboard's tmux relay, seen through the `Pane` protocol.

    Waits between screen checks use the relay's control-mode stream, so a check runs as
    soon as the agent redraws (or at the latest every `POLL_INTERVAL`), not on a timer.
    """

    def __init__(self, relay: TmuxRelay, window: LaneWindow) -> None:
        self.relay = relay
        self.window = window

    @property
    def pane_id(self) -> str:
        return self.window.pane_id

    async def capture(self) -> str:
        return await self.relay.screen(self.pane_id)

    async def paste(self, text: str) -> None:
        await self.relay.paste(self.pane_id, text, bracketed=True)

    async def keys(self, *keys: str) -> None:
        await self.relay.send_keys(self.pane_id, *keys)

    async def alive(self) -> bool:
        return await self.relay.is_alive(self.pane_id)

    async def pid(self) -> int | None:
        return await self.relay.pane_pid(self.pane_id)

    async def close(self) -> None:
        await self.relay.kill_lane(self.window)

    async def changed(self, within: float) -> None:
        """Return when the pane writes output, or after `within` seconds."""
        stream = await self.relay.stream(self.pane_id)
        if stream.closed:
            await asyncio.sleep(within)
        else:
            await stream.wait(within)


async def open_relay_pane(
    relay: TmuxRelay,
    session: str,
    lane: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    metadata: Mapping[str, str],
    *,
    adopt: Callable[[LaneWindow], bool] | None = None,
) -> tuple[RelayPane, bool]:
    """Open (or adopt) the lane's window; returns the pane and whether it was adopted.

    A live window of the same lane that `adopt` accepts (same harness, a known session)
    is reused, so a lane outlives the cockpit; a dead one is removed first. Environment
    variables whose names a shell cannot export are left out.
    """
    existing = await relay.find_lane(session, lane)
    if existing is not None:
        if not existing.dead and adopt is not None and adopt(existing):
            return RelayPane(relay, existing), True
        await relay.kill_lane(existing)
    clean = {k: v for k, v in env.items() if _ENV_NAME.match(k)}
    window = await relay.create_lane_window(
        session, lane, argv, cwd=cwd, env=clean, metadata=dict(metadata)
    )
    return RelayPane(relay, window), False
