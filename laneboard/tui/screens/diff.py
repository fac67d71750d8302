"""Diff: what the selected lane changed in its worktree, file by file, syntax-coloured.

Why a screen of its own: with every writable lane in its own worktree (`lb/<lane>`), the
question "which lane changed what" has an answer per lane — the branch against its base,
committed or not (`worktrees.diff`, the same data as `laneboard lanes diff --json`). The
file list is on the left; the highlighted file's patch (`worktrees.file_patch`) is on the
right, coloured by Rich's diff lexer. A snapshot taken when the screen opens (`r` reloads):
reading git on every lane keystroke would be waste.

The screen reads git through `worktrees` and nothing else: it never touches the
supervisor, the lane or the worktree's files, so opening it cannot change any work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from laneboard.errors import LaneboardError
from laneboard.lanes import worktrees
from laneboard.tui.theme import style as themed

STATUS_STYLE = {"A": "$success", "M": "$warning", "D": "$error", "T": "$accent"}
"""Style spec per git status, as theme variables (`laneboard.tui.theme`)."""


def file_row(entry: dict[str, object]) -> tuple[Text, Text, Text, str]:
    """One file of `worktrees.diff` as table cells: status, +added, -removed, path."""
    status = str(entry["status"])
    added, removed = entry["added"], entry["removed"]
    plus = "bin" if added == -1 else f"+{added}"
    minus = "" if removed == -1 else f"-{removed}"
    return (Text(status, themed(STATUS_STYLE.get(status, ""))), Text(plus, themed("$success")),
            Text(minus, themed("$error")), str(entry["path"]))


class DiffScreen(Screen[None]):
    """The selected lane's branch diff against its base: per-file list + coloured patch."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, repo: Path, lane: str) -> None:
        super().__init__()
        self.repo = repo
        self.lane = lane
        self.files: list[dict[str, object]] = []
        self.error = ""
        self.shown: str | None = None
        """The path whose patch is on screen (None: none yet)."""
        self.syntax: Syntax | None = None
        """What the patch pane renders: the shown file's patch with the diff lexer."""

    def compose(self) -> Iterator[Widget]:
        yield Static(f"laneboard · diff · {self.lane}", classes="screen-title")
        yield Static("", id="diff-summary")
        with Horizontal(id="diff-body"):
            table: DataTable[str | Text] = DataTable(id="diff-files", cursor_type="row")
            table.add_columns("", "+", "-", "file")
            yield table
            with VerticalScroll(id="diff-patch-scroll"):
                yield Static("", id="diff-patch")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        """Read the lane's diff again (git, read-only) and show the first file."""
        table = self.query_one("#diff-files", DataTable)
        table.clear()
        summary = self.query_one("#diff-summary", Static)
        try:
            data = worktrees.diff(self.repo, self.lane)
        except LaneboardError as e:
            self.files, self.error = [], str(e)
            summary.update(Text(f"{e}", themed("$error")))
            self.query_one("#diff-patch", Static).update("")
            return
        self.error = ""
        self.files = list(data["files"])  # type: ignore[call-overload]
        summary.update(Text(f"{data['branch']} against {data['base']} · {len(self.files)} "
                            f"file(s) · {data['worktree']}", "dim"))
        for entry in self.files:
            table.add_row(*file_row(entry), key=str(entry["path"]))
        if self.files:
            self.show_file(str(self.files[0]["path"]))
        else:
            self.shown = None
            self.query_one("#diff-patch", Static).update(Text("no changes against the base",
                                                              "dim"))

    @on(DataTable.RowHighlighted, "#diff-files")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_file(event.row_key.value)

    def show_file(self, path: str) -> None:
        """Show one file's patch, coloured as a diff."""
        if path == self.shown:
            return
        try:
            patch = worktrees.file_patch(self.repo, self.lane, path)
        except LaneboardError as e:
            self.query_one("#diff-patch", Static).update(Text(str(e), themed("$error")))
            return
        self.shown = path
        self.syntax = Syntax(patch or "(no textual diff)", "diff", theme="ansi_dark")
        self.query_one("#diff-patch", Static).update(self.syntax)
