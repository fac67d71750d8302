"""Promise: what a person types into the lane search is data. The search text is shown back
in the lane list's border, which Textual reads as markup; a `[/` typed there once ended the
cockpit with a MarkupError. Every hostile string below is typed key by key into the real
search bar of a cockpit on real lanes (stand-in harnesses, no tmux), and the cockpit must
go on: the border shows the text as typed, the list narrows by plain substring (no
pattern language: `.*` matches nothing here), and Esc brings every lane back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from laneboard.tui.widgets.lane_table import LaneTable
from tests.tui.conftest import Cockpit, cockpit, loaded, state_env, wait_for  # noqa: F401 (fixtures)

LANES = ["main", "coder", "review", "triage"]
HOSTILE = [
    "[/",
    "[/]",
    "[bold red]x",
    "[link=http://example.invalid]main",
    "[@click=app.quit]coder",
    "\\[",
    ".*",
    "$(true)",
    "%s%n{0}",
    "main\\",
]


def _rows(table: LaneTable) -> list[str]:
    return [str(key.value) for key in table.rows]


def _keys(text: str) -> list[str]:
    """Pilot key names for the characters of `text` (its printable ASCII)."""
    named = {"[": "left_square_bracket", "]": "right_square_bracket", "\\": "backslash",
             " ": "space"}
    return [named.get(ch, ch) for ch in text]


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_search_text_is_shown_and_matched_as_text(
    cockpit: Callable[..., Cockpit], text: str  # noqa: F811
) -> None:
    c = cockpit(autostart=False)
    async with c.app.run_test(size=(100, 30)) as pilot:
        screen = c.screen
        table = screen.lane_table
        await wait_for(lambda: _rows(table) == LANES)
        await pilot.press("ctrl+f", *_keys(text))
        await pilot.pause()
        assert c.app.is_running and c.app.return_code is None
        assert screen.lane_search.value == text
        assert _rows(table) == []  # no lane's id, role or model holds any of these
        assert str(table.border_subtitle).endswith(" · 0 of 4 lanes")
        # the border shows the text as typed (markup escaped, not interpreted)
        region = table.render_lines(table.region.reset_offset)  # one full paint
        painted = "".join(seg.text for strip in region for seg in strip)
        assert f"/{text} · 0 of 4 lanes" in painted
        await pilot.press("escape")
        await wait_for(lambda: _rows(table) == LANES)
        assert table.border_subtitle == ""
        assert c.app.is_running
