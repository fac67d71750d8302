"""Snapshot tests (pytest-textual-snapshot) at 80×24 and 160×45: the main screen with lanes
in different states, the preflight screen and the artifacts screen.

Deterministic by construction: no tmux (the supervisor is never started; lane states are
set on its runtimes), fixed pane text, fixed report and artifacts, no spinner animation,
no cursor blink, a workspace always named `demo`. Update with `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Markdown

from laneboard.lanes.preflight import Report
from laneboard.tui.app import LaneboardApp
from laneboard.tui.messages import OutputReceived
from tests.tui.conftest import Cockpit, wait_for
from tests.tui.data import PANE, fill_store, fixed_report, set_states

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 45), id="160x45")]


def build(cockpit: Callable[..., Cockpit], tmp_path: Path) -> LaneboardApp:
    async def report() -> Report:
        return fixed_report()

    c = cockpit(autostart=False, preflight=report, artifacts=fill_store(tmp_path / "artifacts"))
    set_states(c.sup)
    return c.app


async def feed_main(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, LaneboardApp)
    screen = app.main_screen
    screen.post_message(OutputReceived("main", PANE))
    await pilot.pause()
    screen.flush_now()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, cockpit: Callable[..., Cockpit], tmp_path: Path,
                     size: tuple[int, int]) -> None:
    app = build(cockpit, tmp_path)

    async def before(pilot: Pilot[Any]) -> None:
        await feed_main(pilot)
        await pilot.press(*"review the fetcher")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_preflight_screen(snap_compare: Any, cockpit: Callable[..., Cockpit], tmp_path: Path,
                          size: tuple[int, int]) -> None:
    app = build(cockpit, tmp_path)

    async def before(pilot: Pilot[Any]) -> None:
        await pilot.press("f2")
        await wait_for(lambda: pilot.app.screen.query_one("#checks", DataTable).row_count == 5)
        await pilot.press("down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_artifacts_screen(snap_compare: Any, cockpit: Callable[..., Cockpit], tmp_path: Path,
                          size: tuple[int, int]) -> None:
    app = build(cockpit, tmp_path)

    async def before(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        view = pilot.app.screen.query_one("#artifact-view", Markdown)
        await wait_for(lambda: "Implement the cache" in view.source)
        await pilot.press("down")
        await wait_for(lambda: "never backs off" in view.source)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)
