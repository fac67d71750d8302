"""Artifacts: the stored review and turn artifacts — list, filter, search, read as Markdown.

Typing in the filter searches (the store's full-text index); an empty filter lists the
newest. `lane:NAME` / `kind:KIND` words narrow the list. The store is SQLite and files, so
every call runs in a thread worker.

A review the ladder wrote (`extra.ladder`, `extra.finding_list`) also shows two tables under
the text: its rungs (lane, model, tokens, cost, why the ladder climbed or stopped) and its
findings, most severe first, the severity coloured through the theme's variables ($error,
$warning, ...) so a theme change recolours them; a finding outside the diff is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Markdown, Static

if TYPE_CHECKING:
    from laneboard.artifacts import Artifact, ArtifactStore, ArtifactSummary


#: Severity rank (as in laneboard.lanes.findings, not imported: this package may not load
#: the core at import time) and the theme variable each rank is coloured with.
_RANK = {"BLOCKER": 5, "CRITICAL": 5, "MAJOR": 4, "HIGH": 4, "MEDIUM": 3, "MINOR": 2,
         "LOW": 2, "NIT": 1, "INFO": 0}
_COLOUR = {5: "error", 4: "error", 3: "warning", 2: "accent", 1: "text-muted", 0: "text-muted"}


def rung_rows(extra: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The rungs a ladder review recorded, as table rows (a rung that did not run says so)."""
    rows: list[tuple[str, ...]] = []
    for r in extra.get("ladder") or []:
        if not isinstance(r, dict):
            continue
        cost = r.get("cost_usd")
        rows.append((str(r.get("rung", "?")), str(r.get("lane", "?")), str(r.get("does", "")),
                     str(r.get("model") or "-"), str(r.get("state", "")),
                     f"{int(r.get('tokens') or 0):,}" if r.get("ran") else "-",
                     f"${cost:.4f}" if isinstance(cost, (int, float)) else "-",
                     str(r.get("why") or ("not run" if not r.get("ran") else ""))))
    return rows


def finding_rows(extra: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stored findings, most severe first (rank, then file and line)."""
    found = [f for f in extra.get("finding_list") or [] if isinstance(f, dict)]
    return sorted(found, key=lambda f: (-_RANK.get(str(f.get("severity", "")).upper(), 0),
                                        str(f.get("file") or ""), int(f.get("line") or 0)))


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
    """List on the left (top when narrow), Markdown on the right; a ladder review's rungs
    and findings below them."""

    DEFAULT_CSS = """
    #artifact-ladder { height: auto; max-height: 45%; display: none; }
    #artifact-ladder.-shown { display: block; }
    #artifact-rungs { height: auto; max-height: 8; }
    #artifact-findings { height: auto; max-height: 12; }
    .ladder-caption { color: $text-muted; }
    """

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
        with Vertical(id="artifact-ladder"):
            yield Static("rungs", classes="ladder-caption", id="rungs-caption")
            rungs: DataTable[str | Text] = DataTable(id="artifact-rungs", cursor_type="row")
            for col in ("rung", "lane", "does", "model", "state", "tokens", "cost", "why"):
                rungs.add_column(col, key=col)
            yield rungs
            yield Static("findings", classes="ladder-caption", id="findings-caption")
            found: DataTable[str | Text] = DataTable(id="artifact-findings", cursor_type="row")
            for col in ("severity", "where", "title", "rung", "model"):
                found.add_column(col, key=col)
            yield found
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
        self.show_ladder(artifact.extra if artifact.kind == "review" else {})
        return self.query_one("#artifact-view", Markdown).update(artifact_markdown(artifact))

    def show_ladder(self, extra: Mapping[str, Any]) -> None:
        """Fill the rungs and findings tables, or hide them (not a ladder review)."""
        rungs = self.query_one("#artifact-rungs", DataTable)
        found = self.query_one("#artifact-findings", DataTable)
        rungs.clear()
        found.clear()
        rows = rung_rows(extra)
        self.query_one("#artifact-ladder").set_class(bool(rows), "-shown")
        for row in rows:
            rungs.add_row(*row)
        colours = self.app.get_css_variables()
        findings = finding_rows(extra)
        for f in findings:
            sev = str(f.get("severity", "?")).upper()
            colour = colours.get(_COLOUR.get(_RANK.get(sev, 0), "text-muted"), "")
            where = f"{f.get('file') or '-'}:{f.get('line') or '-'}"
            if f.get("in_diff") is False:
                where += " (outside the diff)"
            found.add_row(Text(sev, style=f"bold {colour}".strip()), where,
                          str(f.get("title") or ""), str(f.get("rung") or ""),
                          str(f.get("model") or ""))
        stopped = str(extra.get("stopped") or "")
        self.query_one("#rungs-caption", Static).update(
            f"rungs — stopped: {stopped}" if stopped else "rungs")
        self.query_one("#findings-caption", Static).update(
            f"findings: {len(findings)}" + (f", {extra.get('outside_diff')} outside the diff"
                                            if extra.get("outside_diff") else ""))
