"""The lane list searches by name (issue #18, 64 lanes): `/` in the list (ctrl+f anywhere, or
the palette) opens a one-line bar; typing keeps the lanes whose id, role or model contains
the text, case-insensitive, on top of the F8 state filter; the selected lane stays selected
while it matches; the list's border says "n of N lanes"; Esc clears and returns to the list.
With 40 real command lanes on a private tmux socket (two of them failing) and with the
small stand-in cockpit for model names, plus a snapshot of the open bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from laneboard.tui.palette import EVERYDAY, key_for
from laneboard.tui.screens.main import MainScreen
from laneboard.tui.state import LaneInfo
from laneboard.tui.widgets.lane_search import LaneSearch
from laneboard.tui.widgets.lane_table import LaneTable, matches
from tests.tui.conftest import Cockpit, wait_for
from tests.tui.test_grid_paging import fleet_app, fleet_config, fleet_ids
from tests.tui.test_snapshots import build

CASES = [
    # (query, lane, expected)
    ("coder", LaneInfo("coder-2", "coder", "codex"), True),
    ("CODER", LaneInfo("coder-2", "coder", "codex"), True),
    ("orch", LaneInfo("main", "orchestrator", "codex"), True),  # the role as listed
    ("opus", LaneInfo("review", "reviewer", "claude-code", model="anthropic/claude-opus-4-5"),
     True),
    ("anthropic", LaneInfo("review", "reviewer", "claude-code",
                           model="anthropic/claude-opus-4-5"), True),
    ("codex", LaneInfo("main", "orchestrator", "codex"), False),  # the harness is not a name
    ("beta", LaneInfo("alpha-01", "helper", "command"), False),
    ("", LaneInfo("alpha-01", "helper", "command"), True),
]


@pytest.mark.parametrize(("query", "info", "expected"), CASES)
def test_matches(query: str, info: LaneInfo, expected: bool) -> None:
    assert matches(info, query.casefold()) is expected


def test_search_keys_and_palette_entry() -> None:
    assert key_for(LaneTable.BINDINGS, "search") == "/"
    assert key_for(MainScreen.BINDINGS, "search_lanes") == "ctrl+f"
    assert any(action == "search_lanes" for _, _, action in EVERYDAY)


def _rows(table: LaneTable) -> list[str]:
    return [str(key.value) for key in table.rows]


async def test_search_by_model_and_escape(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(autostart=False)
    async with c.app.run_test(size=(100, 30)) as pilot:
        screen = c.screen
        table, bar = screen.lane_table, screen.lane_search
        await wait_for(lambda: _rows(table) == ["main", "coder", "review", "triage"])
        assert not bar.display  # hidden until asked for
        table.focus()
        await pilot.press("slash")
        await wait_for(lambda: bar.has_focus)
        assert bar.display
        await pilot.press(*"OPUS")
        assert _rows(table) == ["review"]
        assert table.border_subtitle == "/opus · 1 of 4 lanes"
        assert screen.selected == "review"
        await pilot.press("escape")
        await wait_for(lambda: table.has_focus)
        assert not bar.display and bar.value == ""
        assert _rows(table) == ["main", "coder", "review", "triage"]
        assert table.border_subtitle == ""
        assert screen.selected == "review"  # still the selection

        screen.prompt_bar.focus_prompt()
        await pilot.press("ctrl+f")  # from the prompt bar: the search takes the keys
        await wait_for(lambda: bar.has_focus)
        await pilot.press(*"gpt", "enter")  # both codex lanes run gpt models
        await wait_for(lambda: table.has_focus)
        assert _rows(table) == ["main", "coder"]
        assert not bar.display  # closed, the search kept and named in the border
        assert table.border_subtitle == "/gpt · 2 of 4 lanes"
        assert screen.prompt_bar.text == ""  # nothing typed reached the prompt


@pytest.mark.tmux
@pytest.mark.slow
async def test_search_narrows_forty_real_lanes_with_the_state_filter(
    tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    ids = fleet_ids()
    broken = ("alpha-19", "beta-14")
    app, sup = fleet_app(tmp_path, fleet_config(tmp_path, broken=broken))
    try:
        async with app.run_test(size=(110, 40)) as pilot:
            screen = app.main_screen
            table, bar = screen.lane_table, screen.lane_search
            lanes = sup.lanes
            await wait_for(lambda: all(rt.state == ("failed" if lane in broken else "ready")
                                       for lane, rt in lanes.items()), timeout=180)
            await wait_for(lambda: _rows(table) == ids and all(
                (i := table.info(lane)) is not None and i.state == lanes[lane].state
                for lane in ids), timeout=30)

            screen.select_lane("beta-03")
            table.focus()
            await pilot.press("slash", *"BETA")
            await wait_for(lambda: _rows(table) == [f"beta-{i:02d}" for i in range(15)])
            assert table.border_subtitle == "/beta · 15 of 40 lanes"
            assert table.selected_lane == "beta-03" and screen.selected == "beta-03"

            await pilot.press(*"-0")  # "beta-0": beta-00 … beta-09
            assert _rows(table) == [f"beta-{i:02d}" for i in range(10)]
            assert screen.selected == "beta-03"
            await pilot.press("down")  # the list's selection moves from the bar
            await wait_for(lambda: screen.selected == "beta-04")
            assert bar.has_focus

            await pilot.press("9")  # "beta-09": the selected lane no longer matches
            assert _rows(table) == ["beta-09"]
            await wait_for(lambda: screen.selected == "beta-09")

            await pilot.press(*["backspace"] * 3, "f8", "f8", "f8")  # "beta", only failed
            assert table.state_filter == "failed"
            assert _rows(table) == ["beta-14"]
            assert table.border_subtitle == "/beta · 1 of 40 lanes"

            await pilot.press("escape")  # the search goes, the state filter stays
            await wait_for(lambda: table.has_focus)
            assert _rows(table) == list(broken)
            assert table.border_subtitle == "2 of 40 lanes"
            await pilot.press("f8")
            assert _rows(table) == ids
            assert table.border_subtitle == ""

            await pilot.press("slash", *"reviewer")  # by role
            assert _rows(table) == [f"gamma-{i:02d}" for i in range(5)]
            await pilot.press(*"x")  # nothing matches: an empty list, said so
            assert _rows(table) == []
            assert table.border_subtitle == "/reviewerx · 0 of 40 lanes"
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()


def test_search_bar_snapshot(snap_compare: Any, cockpit: Callable[..., Cockpit],
                             tmp_path: Path) -> None:
    app = build(cockpit, tmp_path)

    async def before(pilot: Pilot[Any]) -> None:
        await pilot.pause()  # the main screen composed
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        screen.lane_table.focus()
        await pilot.press("slash", *"co")
        await pilot.pause()
        assert isinstance(pilot.app.focused, LaneSearch)

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
