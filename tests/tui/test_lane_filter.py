"""The lane list filters by state (issue #18, 64 lanes): the filter key cycles
all → busy → waiting → failed → all, the list's title names the filter, the key hint and
palette entry come from BINDINGS, and a lane leaving the filtered state leaves the list,
with real command lanes (one busy, one idle, one that fails) in a Pilot-driven cockpit."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import make_app
from laneboard.tui.palette import EVERYDAY, key_for
from laneboard.tui.screens.main import MainScreen
from laneboard.tui.widgets.lane_table import LaneTable
from tests.tui.conftest import wait_for
from tests.tui.test_cockpit_reach import SLEEPY

pytestmark = pytest.mark.tmux


def _config(tmp_path: Path) -> Path:
    repl = tmp_path / "sleepy.py"
    repl.write_text(SLEEPY)
    cfg = tmp_path / "filter.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        version: 1
        lanes:
          idle:
            role: helper
            harness: command
            command: [{sys.executable}, -u, {repl}]
            ready: "READY>\\\\s*\\\\z"
          sleeper:
            role: orchestrator
            harness: command
            command: [{sys.executable}, -u, {repl}]
            ready: "READY>\\\\s*\\\\z"
          broken:
            role: helper
            harness: command
            command: [sh, -c, 'exit 3']
            restart: {{backoff_s: 0.01, burst: 2, interval_s: 60}}
        routing:
          default: sleeper
        notifications:
          desktop: false
        """))
    return cfg


def _rows(table: LaneTable) -> list[str]:
    return [str(key.value) for key in table.rows]


async def test_filter_key_cycles_states_and_follows_state_changes(
    tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    cfg = _config(tmp_path)
    workspace = tmp_path / "demo"
    workspace.mkdir()
    sup = Supervisor(load_file(str(cfg)), workspace=workspace)
    app = make_app(load_file(str(cfg)), sup, motion=False)
    key = key_for(MainScreen.BINDINGS, "filter_lanes")
    assert key == "F8"
    assert any(action == "filter_lanes" for _, _, action in EVERYDAY)  # the palette entry
    try:
        async with app.run_test(size=(110, 30)) as pilot:
            screen = app.main_screen
            table = screen.lane_table
            lanes = sup.lanes
            await wait_for(lambda: lanes["idle"].state == "ready" and lanes["sleeper"].state == "ready",
                           timeout=30)
            await wait_for(lambda: lanes["broken"].state == "failed", timeout=30)
            await pilot.press(*"sleep", "enter")  # the default route: sleeper
            await wait_for(lambda: lanes["sleeper"].state == "busy", timeout=20)
            await wait_for(lambda: table.info("sleeper") is not None
                           and table.info("sleeper").state == "busy", timeout=20)  # type: ignore[union-attr]
            assert _rows(table) == ["idle", "sleeper", "broken"]
            title = str(table.border_title)
            assert "only" not in title

            await pilot.press("f8")
            assert table.state_filter == "busy"
            assert _rows(table) == ["sleeper"]
            assert str(table.border_title).endswith(" · only busy")
            assert str(table.border_title).startswith(title)
            assert table.selected_lane == "sleeper"

            await pilot.press("f8")
            assert table.state_filter == "waiting"
            assert _rows(table) == []
            assert str(table.border_title).endswith(" · only waiting")

            await pilot.press("f8")
            assert _rows(table) == ["broken"]
            assert str(table.border_title).endswith(" · only failed")

            await pilot.press("f8")
            assert table.state_filter == "all"
            assert _rows(table) == ["idle", "sleeper", "broken"]  # the original order
            assert str(table.border_title) == title

            # a lane that stops being busy leaves the busy view while it is shown
            await pilot.press("f8")
            assert _rows(table) == ["sleeper"]
            table.select("sleeper")
            await pilot.press("f6")  # interrupt the selected lane's turn
            await wait_for(lambda: lanes["sleeper"].state == "ready", timeout=20)
            await wait_for(lambda: _rows(table) == [], timeout=10)
            await pilot.press("f8", "f8", "f8")
            assert _rows(table) == ["idle", "sleeper", "broken"]
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()
