"""Each secondary screen: preflight (table, fix hints, rerun), artifacts (list, filter,
Markdown, search), usage (per lane and per-tier bars), help (every binding)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Markdown, Static

from laneboard.lanes.preflight import Report
from laneboard.tui.screens.artifacts import ArtifactsScreen, parse_filter
from laneboard.tui.screens.help import HelpScreen
from laneboard.tui.screens.preflight import PreflightScreen
from laneboard.tui.screens.usage import UsageScreen
from tests.tui.conftest import Cockpit, wait_for
from tests.tui.data import fill_store, fixed_report, set_states


async def test_preflight_table_fix_and_rerun(cockpit: Callable[..., Cockpit]) -> None:
    runs: list[int] = []

    async def runner() -> Report:
        runs.append(1)
        return fixed_report()

    c = cockpit(autostart=False, preflight=runner)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f2")
        screen = c.app.screen
        assert isinstance(screen, PreflightScreen)
        table = screen.query_one("#checks", DataTable)
        await wait_for(lambda: table.row_count == 5)
        assert "1 fail" in str(screen.query_one("#preflight-summary", Static).render())
        await pilot.press("down", "down")  # the failing check
        fix = screen.query_one("#fix", Static)
        assert "give the coder an orchestrator-tier model" in str(fix.render())
        await pilot.press("r")
        await wait_for(lambda: len(runs) == 2)
        await pilot.press("escape")
        assert c.app.screen is c.screen


async def test_artifacts_list_filter_search_markdown(
    cockpit: Callable[..., Cockpit], tmp_path: Path
) -> None:
    store = fill_store(tmp_path / "artifacts")
    c = cockpit(autostart=False, artifacts=store)
    async with c.app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f3")
        screen = c.app.screen
        assert isinstance(screen, ArtifactsScreen)
        table = screen.query_one("#artifact-list", DataTable)
        await wait_for(lambda: table.row_count == 2)
        view = screen.query_one("#artifact-view", Markdown)
        await wait_for(lambda: "Implement the cache" in view.source)  # newest first
        await pilot.press("down")
        await wait_for(lambda: "never backs off" in view.source)
        await pilot.press("ctrl+f", *"backs")
        await wait_for(lambda: table.row_count == 1)
        assert "retry loop" in str(table.get_row_at(0)[-1])
        await pilot.press(*[*["backspace"] * 5], *"lane:coder")
        await wait_for(lambda: table.row_count == 1 and "cache" in str(table.get_row_at(0)[-1]))
        await pilot.press("escape")
        assert c.app.screen is c.screen


def test_parse_filter() -> None:
    assert parse_filter("lane:review race kind:review") == ("race", {"lane": "review", "kind": "review"})
    assert parse_filter("http://x") == ("http://x", {})


async def test_usage_screen_bars(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(autostart=False)
    set_states(c.sup)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        screen = c.app.screen
        assert isinstance(screen, UsageScreen)
        table = screen.query_one("#usage-table", DataTable)
        assert table.row_count == 4
        bars = str(screen.query_one("#tier-bars", Static).render())
        assert "orchestrator" in bars and "91%" in bars and "9%" in bars  # 10 of 11 prompts
        await pilot.press("escape")


async def test_help_lists_every_binding(cockpit: Callable[..., Cockpit]) -> None:
    from laneboard.tui.app import LaneboardApp
    from laneboard.tui.screens.help import key_label
    from laneboard.tui.screens.main import MainScreen

    c = cockpit(autostart=False)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        screen = c.app.screen
        assert isinstance(screen, HelpScreen)
        table = screen.query_one("#help-table", DataTable)
        keys = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        for b in [*LaneboardApp.BINDINGS, *MainScreen.BINDINGS]:
            assert key_label(b.key) in keys  # type: ignore[union-attr]
        assert "slash" not in " ".join(keys) and "left_square_bracket" not in " ".join(keys)
        await pilot.press("escape")
        assert c.app.screen is c.screen


@pytest.mark.parametrize(("opener", "screen_cls"), [
    ("f1", HelpScreen), ("f2", PreflightScreen), ("f3", ArtifactsScreen), ("f4", UsageScreen),
])
async def test_every_close_key_closes_its_screen(
    cockpit: Callable[..., Cockpit], tmp_path: Path, opener: str, screen_cls: type
) -> None:
    """Each key of a screen's close binding (escape, q, its own F-key) returns to the lanes."""
    async def report() -> Report:
        return fixed_report()

    c = cockpit(autostart=False, preflight=report, artifacts=fill_store(tmp_path / "a"))
    [close] = [b for b in screen_cls.BINDINGS if b.action == "app.pop_screen"]
    async with c.app.run_test(size=(100, 30)) as pilot:
        for key in close.key.split(","):
            await pilot.press(opener)
            await wait_for(lambda: isinstance(c.app.screen, screen_cls))
            await pilot.press(key)
            await wait_for(lambda: c.app.screen is c.screen)
