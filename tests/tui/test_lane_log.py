"""The lane pane widget on its own: bursts at the scrollback cap, mirrored screens."""

from __future__ import annotations

from textual.app import App, ComposeResult

from laneboard.tui.buffers import MAX_LINES
from laneboard.tui.widgets.lane_log import LaneLog


class _One(App[None]):
    CSS = "LaneLog { height: 12; }"

    def compose(self) -> ComposeResult:
        yield LaneLog("main", id="log")


def _visible(log: LaneLog) -> list[str]:
    top = round(log.scroll_y)
    return [log.lines[i] for i in range(top, min(top + log.scrollable_content_region.height, log.line_count))]


async def test_a_burst_taller_than_the_pane_at_the_cap_shows_its_last_lines() -> None:
    """Log.write sized the view before trimming to max_lines: the pane went blank."""
    app = _One()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(LaneLog)
        log.append("".join(f"early {i}\n" for i in range(MAX_LINES)))
        await pilot.pause()
        log.append("".join(f"burst {i}\n" for i in range(500)))
        await pilot.pause()
        assert log.line_count <= MAX_LINES
        assert log.virtual_size.height == log.line_count
        shown = _visible(log)
        assert shown and shown[-1] == "burst 499"
        assert len(shown) == log.scrollable_content_region.height


async def test_reading_scrollback_is_not_yanked_away_by_new_output() -> None:
    app = _One()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(LaneLog)
        log.append("".join(f"line {i}\n" for i in range(200)))
        await pilot.pause()
        log.scroll_to(y=10, animate=False)
        await pilot.pause()
        log.append("more\n")
        await pilot.pause()
        assert round(log.scroll_y) == 10


async def test_a_screen_replaces_the_text_with_blank_runs_folded() -> None:
    app = _One()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(LaneLog)
        log.append("old text\n")
        log.show_screen("main", "\n\n  \x1b[1mtitle\x1b[0m\n\n\n\n\u2800\u2800\n> prompt\n\n\n")
        await pilot.pause()
        assert [ln.replace("\x1b[1m", "").replace("\x1b[0m", "").rstrip()
                for ln in log.lines] == ["  title", "", "> prompt"]
