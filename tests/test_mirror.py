"""Screen mirrors of full-screen programs, on a real tmux server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from laneboard.harnesses import ansi
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.lanes.mirror import ScreenMirror
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.tmux

# Draws FRAMES frames on the alternate screen, each a cleared screen with a coloured counter,
# then a final frame, and waits on stdin (like a full-screen agent between turns).
DRAWER = r"""
import os, sys
frames = int(sys.argv[1])
w = lambda s: os.write(1, s.encode())
w("\x1b[?1049h")
for i in range(frames):
    w(f"\x1b[H\x1b[2J\x1b[31mframe {i}\x1b[0m\r\nstatus line")
w("\x1b[H\x1b[2J\x1b[1;32mfinal frame\x1b[0m\r\nready")
sys.stdin.readline()
"""


async def test_mirror_shows_the_latest_styled_screen_and_coalesces_redraws(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    script = tmp_path / "drawer.py"
    script.write_text(DRAWER)
    frames = 3000
    lane = await relay.create_lane_window(
        "ws", "tui", [sys.executable, str(script), str(frames)], cwd=tmp_path
    )
    published: list[str] = []
    mirror = ScreenMirror(relay, lane.pane_id, published.append)
    mirror.start()
    try:
        await async_wait_until(
            lambda: bool(published) and "final frame" in ansi.strip(published[-1]), timeout=30
        )
        last = published[-1]
        assert "\x1b[" in last  # styled: colours kept
        assert ansi.strip(last).splitlines()[:2] == ["final frame", "ready"]
        # thousands of redraws, a bounded number of captures (≤ ~10/s, plus the first)
        assert mirror.captures < frames / 10
    finally:
        await mirror.stop()
    assert not mirror.running


async def test_screen_through_control_client_equals_screen_from_tmux(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    lane = await relay.create_lane_window(
        "ws", "txt", ["sh", "-c", "printf '\\033[34mblue\\033[0m plain\\n'; exec cat"], cwd=tmp_path
    )
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: "plain" in stream.text_since(0), timeout=10)
    fast = await relay.screen(lane.pane_id, styled=True)
    slow = await relay.capture(lane.pane_id, styled=True, scrollback=False)
    assert fast == slow
    assert "\x1b[34m" in fast
    assert await relay.screen(lane.pane_id) == ansi.strip(slow)
