"""The grid pages (issue #18, 64 lanes): with 40 real command lanes on a private tmux socket,
the grid shows only the lanes that fit, PageDown/PageUp (and `]`/`[`) turn pages, the
grid's title says "page i/n", selecting a lane on another page turns to it, and only the
lanes on the page shown have screen mirrors — each lane runs on the terminal's alternate
screen, as Claude Code and Codex do, so every lane *could* be mirrored; a grid that
mirrored all 40 would fail here."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import LaneboardApp, make_app
from laneboard.tui.palette import EVERYDAY, key_for
from laneboard.tui.screens.main import MainScreen
from laneboard.tui.widgets.lane_grid import MIN_LOG_ROWS
from tests.tui.conftest import Cockpit, wait_for

#: A REPL that draws on the alternate screen (like a full-screen agent) when asked to.
FLEET_REPL = textwrap.dedent(
    """
    import sys
    if sys.argv[1:] == ["alt"]:
        sys.stdout.write("\\x1b[?1049h\\x1b[H")
    print("READY>", flush=True)
    for line in sys.stdin:
        print("answer: " + line.strip()[::-1], flush=True)
        print("READY>", flush=True)
    """
)

#: (prefix, role, how many): 40 lanes whose names a search can tell apart.
FLEET = (("alpha", "helper", 20), ("beta", "helper", 15), ("gamma", "reviewer", 5))


def fleet_ids() -> list[str]:
    return [f"{prefix}-{i:02d}" for prefix, _role, n in FLEET for i in range(n)]


def fleet_config(tmp_path: Path, *, alt_screen: bool = False,
                 broken: tuple[str, ...] = ()) -> Path:
    """A config of the 40 fleet lanes; `broken` lanes exit at once (and end `failed`)."""
    repl = tmp_path / "fleet_repl.py"
    repl.write_text(FLEET_REPL)
    argv = f"[{sys.executable}, -u, {repl}{', alt' if alt_screen else ''}]"
    lines = ["version: 1", "lanes:"]
    for prefix, role, n in FLEET:
        for i in range(n):
            lane = f"{prefix}-{i:02d}"
            lines += [f"  {lane}:", f"    role: {role}", "    harness: command"]
            if lane in broken:
                lines += ["    command: [sh, -c, 'exit 3']",
                          "    restart: {backoff_s: 0.01, burst: 2, interval_s: 60}"]
            else:
                lines += [f"    command: {argv}", '    ready: "READY>\\\\s*\\\\z"']
    lines += ["routing:", "  default: alpha-00", "notifications:", "  desktop: false", ""]
    cfg = tmp_path / "fleet.yaml"
    cfg.write_text("\n".join(lines))
    return cfg


def fleet_app(tmp_path: Path, cfg: Path) -> tuple[LaneboardApp, Supervisor]:
    workspace = tmp_path / "demo"
    workspace.mkdir(exist_ok=True)
    sup = Supervisor(load_file(str(cfg)), workspace=workspace)
    return make_app(load_file(str(cfg)), sup, motion=False), sup


def mirrored(app: LaneboardApp) -> set[str]:
    """The lanes the cockpit mirrors a screen of right now."""
    mirrors = app._mirrors  # the App's own mirror set: what the core was asked for
    return {lane for lane, m in mirrors.mirrors.items() if m.running} if mirrors else set()


def test_paging_keys_and_palette_entries() -> None:
    assert key_for(MainScreen.BINDINGS, "grid_page(1)") == "]"
    assert key_for(MainScreen.BINDINGS, "grid_page(-1)") == "["
    actions = {action for _, _, action in EVERYDAY}
    assert {"grid_page(1)", "grid_page(-1)"} <= actions


async def test_brackets_still_type_into_the_prompt(cockpit: Callable[..., Cockpit]) -> None:
    """`[` and `]` turn grid pages only where nobody is typing: the prompt keeps them."""
    c = cockpit(autostart=False)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+g")
        await wait_for(lambda: c.screen.grid)
        await pilot.press("left_square_bracket", "x", "right_square_bracket")
        assert c.screen.prompt_bar.text == "[x]"
        assert c.screen.lane_grid.page == 0 and c.screen.lane_grid.pages == 1


async def test_a_search_narrows_the_grid_too(cockpit: Callable[..., Cockpit]) -> None:
    """The grid shows the lanes the list shows: a search for two lanes, two logs."""
    c = cockpit(autostart=False)
    async with c.app.run_test(size=(100, 30)) as pilot:
        grid = c.screen.lane_grid

        def shown() -> list[str]:
            return [log.lane or "" for log in grid.logs()]

        await wait_for(lambda: shown() == ["main", "coder", "review", "triage"])
        await pilot.press("ctrl+f", *"gpt", "enter", "ctrl+g")
        await wait_for(lambda: shown() == ["main", "coder"])
        await pilot.press("ctrl+f", "escape")
        await wait_for(lambda: shown() == ["main", "coder", "review", "triage"])


@pytest.mark.tmux
@pytest.mark.slow
async def test_grid_pages_and_mirrors_only_its_page(
    tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    ids = fleet_ids()
    app, sup = fleet_app(tmp_path, fleet_config(tmp_path, alt_screen=True))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main_screen
            grid = screen.lane_grid
            await wait_for(lambda: all(rt.state == "ready" for rt in sup.lanes.values()),
                           timeout=180)
            await wait_for(lambda: mirrored(app) == {"alpha-00"}, timeout=30)  # the pane

            await pilot.press("ctrl+g")
            await wait_for(lambda: grid.size.height > 0 and grid.pages > 1, timeout=10)
            per = grid.per_page
            assert per == 2 * max(1, grid.size.height // MIN_LOG_ROWS)  # 2 columns at 120
            assert per < len(ids)
            pages = -(-len(ids) // per)
            assert grid.pages == pages

            def shown() -> list[str]:
                return [log.lane or "" for log in grid.logs()]

            await wait_for(lambda: shown() == ids[:per] and mirrored(app) == set(ids[:per]),
                           timeout=30)
            assert str(grid.border_title).startswith(f"page 1/{pages}")
            # the logs show the lanes' mirrored screens (the REPL's ready line)
            await wait_for(lambda: all("READY>" in "\n".join(log.lines) for log in grid.logs()),
                           timeout=30)

            await pilot.press("pagedown")  # the prompt bar has focus: PgDn still pages
            await wait_for(lambda: shown() == ids[per:2 * per], timeout=10)
            assert str(grid.border_title).startswith(f"page 2/{pages}")
            await wait_for(lambda: mirrored(app) == set(ids[per:2 * per]), timeout=30)
            await wait_for(lambda: all("READY>" in "\n".join(log.lines) for log in grid.logs()),
                           timeout=30)

            screen.lane_table.focus()  # the table takes PgUp/PgDn itself: `[` / `]` page
            await pilot.press("right_square_bracket")
            await wait_for(lambda: shown() == ids[2 * per:3 * per], timeout=10)
            await pilot.press("left_square_bracket", "left_square_bracket")
            await wait_for(lambda: shown() == ids[:per], timeout=10)
            await pilot.press("left_square_bracket")  # no page before the first
            assert grid.page == 0

            screen.select_lane("gamma-04")  # the last lane: its page comes up
            await wait_for(lambda: shown() == ids[(pages - 1) * per:], timeout=10)
            assert str(grid.border_title).startswith(f"page {pages}/{pages}")
            await wait_for(lambda: mirrored(app) == set(ids[(pages - 1) * per:]), timeout=30)
            selected = [log.lane for log in grid.logs() if log.has_class("-selected")]
            assert selected == ["gamma-04"]

            await pilot.press("ctrl+g")  # back to the single pane: one mirror
            await wait_for(lambda: mirrored(app) == {"gamma-04"}, timeout=30)
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()
