"""Help: every key binding of the cockpit, read from the bindings themselves (never stale).

The App hands its own bindings in (this module must not import the App: screens sit
below it — see `laneboard.tui.link`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

NOTES = [
    ("Enter", "prompt bar", "Send the prompt to the lane the preview shows"),
    ("→", "prompt bar", "Accept the @lane / /model completion"),
    ("@lane …", "prompt bar", "Send to that lane (unless a fence forbids it)"),
    ("/model REF", "prompt bar", "Switch the selected lane's model (strict; waits while busy)"),
    ("ctrl+p", "anywhere", "Command palette: every action, per-lane ones too"),
    ("ctrl+q", "anywhere", "Quit (lanes keep running in tmux)"),
    ("tab", "anywhere", "Move focus: prompt → lanes → pane"),
]


def binding_rows(app_bindings: Sequence[BindingType]) -> list[tuple[str, str, str]]:
    """(key, where, what) for every binding of the app, the main screen and its widgets."""
    from laneboard.tui.screens.main import MainScreen
    from laneboard.tui.widgets.lane_table import LaneTable
    from laneboard.tui.widgets.prompt_bar import PromptBar

    rows: list[tuple[str, str, str]] = []
    for where, bindings in (
        ("anywhere", app_bindings),
        ("main screen", MainScreen.BINDINGS),
        ("prompt bar", PromptBar.BINDINGS),
        ("lane list", LaneTable.BINDINGS),
    ):
        for b in bindings:
            if isinstance(b, Binding):
                rows.append((key_label(b.key), where, b.description))
    return rows + NOTES


def key_label(keys: str) -> str:
    """A binding's keys as a person types them: `slash,left_square_bracket` → `/ / [`
    (Textual's own names are for code, not for a help table)."""
    from textual.keys import format_key

    return " / ".join(format_key(k.strip()) for k in keys.split(","))


class HelpScreen(Screen[None]):
    """All bindings in one table; escape closes."""

    BINDINGS = [Binding("escape,q,f1", "app.pop_screen", "Close")]

    def __init__(self, app_bindings: Sequence[BindingType]) -> None:
        super().__init__()
        self.app_bindings = app_bindings

    def compose(self) -> Iterator[Widget]:
        yield Static("laneboard · help — every key binding", classes="screen-title")
        table: DataTable[str] = DataTable(id="help-table", cursor_type="row")
        table.add_columns("key", "where", "what it does")
        for row in binding_rows(self.app_bindings):
            table.add_row(*row)
        yield table
        yield Footer()
