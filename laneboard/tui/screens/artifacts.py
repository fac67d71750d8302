"""Artifacts: the stored review and turn artifacts — list, filter, search, read as Markdown.

Typing in the filter searches (the store's full-text index); an empty filter lists the
newest. `lane:NAME` / `kind:KIND` words narrow the list. The store is SQLite and files, so
every call runs in a thread worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Markdown, Static

if TYPE_CHECKING:
    from laneboard.artifacts import Artifact, ArtifactStore, ArtifactSummary


def parse_filter(text: str) -> tuple[str, dict[str, str]]:
    """`lane:review race` → ("race", {"lane": "review"})."""
    words, filters = [], {}
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key in ("lane", "kind") and value:
            filters[key] = value
        else:
            words.append(word)
    return " ".join(words), filters


def artifact_markdown(a: Artifact) -> str:
    """An artifact as Markdown: title, facts, route, prompt and answer."""
    when = a.finished.strftime("%Y-%m-%d %H:%M") if a.finished else "-"
    lines = [
        f"# {a.title}",
        "",
        f"**{a.kind}** · lane `{a.lane}` · {a.harness or '-'} · model `{a.model or '-'}` · "
        f"**{a.state}** · {when} · id `{a.short_id}`",
    ]
    if a.route:
        rule, reason = a.route.get("rule", "-"), a.route.get("reason", "")
        lines += ["", f"route: `{rule}` — {reason}"]
    if a.redactions:
        lines += ["", f"_{a.redactions} secret(s) redacted_"]
    if a.error:
        lines += ["", f"> error: {a.error}"]
    lines += ["", "## Answer", "", a.answer or "_(empty)_", "", "## Prompt", "", "```",
              a.prompt, "```"]
    return "\n".join(lines)


class ArtifactsScreen(Screen[None]):
    """List on the left (top when narrow), Markdown on the right."""

    BINDINGS = [
        Binding("escape,f3", "app.pop_screen", "Close"),
        Binding("ctrl+f", "focus_filter", "Filter"),
    ]

    def __init__(self, store: Callable[[], ArtifactStore]) -> None:
        super().__init__()
        self._store = store
        self._rows: list[ArtifactSummary] = []

    def compose(self) -> Iterator[Widget]:
        yield Static("laneboard · artifacts", classes="screen-title")
        yield Input(placeholder="search… (lane:NAME kind:review narrow it)", id="artifact-filter")
        with Container(id="artifact-body"):
            table: DataTable[str] = DataTable(id="artifact-list", cursor_type="row")
            table.add_column("id", key="id", width=8)
            table.add_column("kind", key="kind")
            table.add_column("lane", key="lane")
            table.add_column("when", key="when")
            table.add_column("title", key="title")
            yield table
            yield Markdown("", id="artifact-view")
        yield Footer()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#artifact-list", DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._load("")

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")

    def action_focus_filter(self) -> None:
        self.query_one("#artifact-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._load(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    @work(thread=True, exclusive=True, group="artifact-list", exit_on_error=False)
    def _load(self, text: str) -> None:
        query, filters = parse_filter(text)
        store = self._store()
        if query:
            rows = [hit.artifact for hit in store.search(query, lane=filters.get("lane"), kind=filters.get("kind"))]
        else:
            rows = store.list(lane=filters.get("lane"), kind=filters.get("kind"), limit=200)
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[ArtifactSummary]) -> None:
        self._rows = rows
        table = self.table
        table.clear()
        for i, a in enumerate(rows):
            when = a.finished.strftime("%m-%d %H:%M") if a.finished else "-"
            table.add_row(a.short_id, a.kind, a.lane, when, a.title, key=str(i))
        if rows:
            table.move_cursor(row=0)
            self._open(rows[0])
        else:
            self.query_one("#artifact-view", Markdown).update(
                "_No artifacts yet. Escalate a review (ctrl+r) or run `laneboard review`._"
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self._rows):
            self._open(self._rows[event.cursor_row])

    @work(thread=True, exclusive=True, group="artifact-read", exit_on_error=False)
    def _open(self, summary: ArtifactSummary) -> None:
        artifact = self._store().load(summary.path)
        self.app.call_from_thread(self.show_artifact, artifact)

    def show_artifact(self, artifact: Artifact) -> Any:
        return self.query_one("#artifact-view", Markdown).update(artifact_markdown(artifact))
