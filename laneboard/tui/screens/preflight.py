"""Preflight: the checks table (ok / warn / fail / skip), the fix for the highlighted check,
and `r` to run them again.

The checks are the core's (`laneboard.lanes.preflight`); the screen only runs them in a
worker (live probes touch the network and spawn processes) and shows the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from laneboard.tui.theme import style as themed

if TYPE_CHECKING:
    from laneboard.lanes.preflight import Check, Report

STATUS = {
    "ok": ("✓ ok", "$success"),
    "warn": ("! warn", "bold $warning"),
    "fail": ("✗ fail", "bold $error"),
    "skip": ("- skip", "dim"),
}


class PreflightScreen(Screen[None]):
    """The preflight report of the config in effect."""

    BINDINGS = [
        Binding("r", "rerun", "Rerun"),
        Binding("escape,q,f2", "app.pop_screen", "Close"),
    ]

    def __init__(self, runner: Callable[[], Awaitable[Report]]) -> None:
        super().__init__()
        self._runner = runner
        self._checks: list[Check] = []

    def compose(self) -> Iterator[Widget]:
        yield Static("laneboard · preflight", classes="screen-title")
        yield Static("running checks…", id="preflight-summary", classes="summary")
        table: DataTable[Any] = DataTable(id="checks", cursor_type="row")
        table.add_column("status", key="status", width=7)
        table.add_column("check", key="check", width=25)
        table.add_column("subject", key="subject", width=22)
        table.add_column("finding", key="finding")
        yield table
        yield Static("", id="fix")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#checks", DataTable)

    def on_mount(self) -> None:
        self.query_one("#fix").display = False
        self.table.focus()
        self.action_rerun()

    def action_rerun(self) -> None:
        self.query_one("#preflight-summary", Static).update("running checks…")
        self._run()

    @work(exclusive=True, group="preflight", exit_on_error=False)
    async def _run(self) -> None:
        report = await self._runner()
        self.show_report(report)

    def show_report(self, report: Report) -> None:
        """Fill the table from a report (also used by tests with a fixed report)."""
        self._checks = report.ordered()
        table = self.table
        table.clear()
        for i, c in enumerate(self._checks):
            label, style = STATUS.get(c.status, (c.status, ""))
            table.add_row(Text(label, style=themed(style)), c.id, c.subject, c.message,
                          key=str(i))
        counts = report.counts()
        summary = Text.assemble(
            (f"{counts['ok']} ok", themed("$success")), "  ",
            (f"{counts['warn']} warn", themed("$warning")), "  ",
            (f"{counts['fail']} fail", themed("$error")), "  ", (f"{counts['skip']} skip", "dim"),
            f"   config: {report.source or '-'}",
        )
        self.query_one("#preflight-summary", Static).update(summary)
        if self._checks:
            table.move_cursor(row=0)
            self._show_fix(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_fix(event.cursor_row)

    def _show_fix(self, row: int) -> None:
        fix = self.query_one("#fix", Static)
        if 0 <= row < len(self._checks):
            c = self._checks[row]
            fix.border_title = f"{c.id} · {c.subject}"
            body = Text(c.message)
            if c.fix:
                body.append("\nfix: ", themed("bold $warning"))
                body.append(c.fix)
            fix.update(body)
            fix.set_class(c.status in ("warn", "fail"), "-problem")
            fix.display = True
        else:
            fix.display = False
