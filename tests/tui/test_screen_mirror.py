"""A full-screen program in a lane (like Claude Code or interactive Codex) is shown in the
cockpit as its screen, mirrored through tmux: raw cursor-addressed output is not text."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from laneboard.harnesses.ansi import strip
from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import make_app
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.tmux

# A tiny full-screen "agent": alternate screen, a boxed status drawn with cursor moves, and
# every line typed is echoed as "you said: …" at a fixed row.
AGENT = r"""
import os, sys
w = lambda s: (sys.stdout.write(s), sys.stdout.flush())
w("\x1b[?1049h\x1b[H\x1b[2J\x1b[5;3H\x1b[1;35mFULLSCREEN AGENT\x1b[0m\x1b[20;1H> ")
for line in sys.stdin:
    w(f"\x1b[8;3H\x1b[2Kyou said: {line.strip()[::-1]}\x1b[20;3H\x1b[K")
"""


@pytest.fixture
async def fullscreen_supervisor(tmp_path: Path, tmux_socket: str,
                                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Supervisor]:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    cfg = tmp_path / "fullscreen.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        version: 1
        lanes:
          main:
            role: orchestrator
            harness: command
            command: [{sys.executable}, -u, {agent}]
            ready: "FULLSCREEN AGENT"
        routing:
          default: main
        """))
    (tmp_path / "ws").mkdir()
    sup = Supervisor(load_file(str(cfg)), workspace=tmp_path / "ws")
    try:
        yield sup
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()


async def test_full_screen_lane_is_mirrored_as_its_screen(
    fullscreen_supervisor: Supervisor,
) -> None:
    sup = fullscreen_supervisor
    app = make_app(sup.loaded, sup, motion=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main_screen

        def pane_lines() -> list[str]:
            return [strip(line).rstrip() for line in screen.pane.lines]

        await wait_for(lambda: sup.lanes["main"].state == "ready", timeout=20)
        await wait_for(lambda: any(ln.strip() == "FULLSCREEN AGENT" for ln in pane_lines()),
                       timeout=10)
        # the screen, not the byte stream: no cursor-move debris, rows where the agent put them
        assert not any("[5;3H" in ln or "\x1b" in ln for ln in pane_lines())
        # what the agent drew, in its order, with the empty rows between folded to one
        await wait_for(lambda: len(pane_lines()) >= 3, timeout=10)
        assert pane_lines()[0].strip() == "FULLSCREEN AGENT", pane_lines()
        assert pane_lines()[1:3] == ["", ">"], pane_lines()

        await pilot.press(*"hello", "enter")
        await wait_for(lambda: any("you said: olleh" in ln for ln in pane_lines()), timeout=20)
        assert sum("FULLSCREEN AGENT" in ln for ln in pane_lines()) == 1  # replaced, not appended
        assert "" not in [a + b for a, b in zip(pane_lines(), pane_lines()[1:], strict=False)]  # no blank runs
