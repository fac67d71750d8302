"""The lane list: one row per lane with role, state, model · tier, fence badge and usage.

A `DataTable` in row-cursor mode, so keyboard and mouse selection come for free. The
screen hands down `LaneInfo` snapshots (`set_lane`); the table posts `LaneTable.Selected`
when the highlighted row changes. The busy spinner ticks only while some lane is busy
(an idle cockpit runs no timer at all), and not at all when `motion` is off (snapshots).

With many lanes the person wants the ones that need them: `cycle_filter` shows only busy,
waiting or failed lanes (all → busy → waiting → failed → all), named in the border title.
Every lane's `LaneInfo` is kept while hidden, so leaving the filter loses nothing, and a
lane entering or leaving the filter rebuilds the rows in their original order.

A person who knows the lane by name searches instead (`/` here, or the palette; the
`LaneSearch` bar under the list): `set_query` keeps the lanes whose id, role or model
contains the text, case-insensitive, on top of the state filter. Whenever either narrows
the list, the border's subtitle says how many lanes it shows ("3 of 40 lanes"), so a
short list is never mistaken for all of them; `Narrowed` tells the screen, whose grid then
shows the same lanes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.coordinate import Coordinate
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable

from laneboard.tui.state import TIER_SHORT, LaneInfo, usage_text
from laneboard.tui.theme import style as themed

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STATE_GLYPH = {
    "stopped": ("○", "dim"),
    "starting": ("◌", "$primary"),
    "restarting": ("◌", "$warning"),
    "ready": ("●", "$success"),
    "busy": (SPINNER[0], "bold $primary"),
    "waiting": ("◆", "bold $background on $warning"),
    "failed": ("✗", "bold $error"),
}
"""Glyph and style spec (theme variables, see `laneboard.tui.theme`) per lane state."""
FENCE_STYLE = {
    "read-only": ("read-only", "$success"),
    "plan": ("plan", "$primary"),
    "workspace-write": ("ws-write", "$warning"),
    "full": ("FULL", "bold $error"),
}
ROLE_SHORT = {"orchestrator": "orch", "reviewer": "reviewer", "coder": "coder", "helper": "helper"}
FILTERS = ("all", "busy", "waiting", "failed")
"""The states the list can be narrowed to, in the order the filter key cycles them."""
FILTER_MARK = " · only "
SEARCH_KEY = "slash"
"""The key that opens the search bar while the list has focus (`/`, as in less and vim)."""
COLUMNS = (("lane", "lane"), ("role", "role"), ("state", "state"), ("model", "model · tier"),
           ("fence", "fence"), ("usage", "usage"))


def state_cell(info: LaneInfo, frame: int = 0) -> Text:
    """The state column: glyph (a spinner frame while busy) and the state name."""
    glyph, style = STATE_GLYPH.get(info.state, ("?", ""))
    if info.state == "busy":
        glyph = SPINNER[frame % len(SPINNER)]
    label = "input?" if info.state == "waiting" else info.state
    return Text.assemble((f"{glyph} {label}", themed(style)))


def model_cell(info: LaneInfo) -> Text:
    """The model column: `gpt-5.5 · orch`, `!` for an explicit choice, `→ x` while pending."""
    text = Text(info.model_short)
    if info.explicit:
        text.append("!", "bold")
    if info.tier:
        text.append(f" · {TIER_SHORT.get(info.tier, info.tier)}", "dim")
    if info.pending_model:
        text.append(f" → {info.pending_model.split('/', 1)[-1]} (waits for idle)",
                    themed("italic $warning"))
    return text


def fence_cell(info: LaneInfo) -> Text:
    label, style = FENCE_STYLE.get(info.fence, (info.fence, ""))
    return Text(label, style=themed(style))


def matches(info: LaneInfo, query: str) -> bool:
    """Whether the lane's id, role (also as the list shows it) or model contains `query`
    (already case-folded)."""
    fields = (info.id, info.role, ROLE_SHORT.get(info.role, ""), info.model or "")
    return any(query in f.casefold() for f in fields)


class LaneTable(DataTable[Text | str]):
    """Every lane, one row each; the highlighted row is the selected lane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "lane('start')", "Start", show=True),
        Binding("x", "lane('stop')", "Stop", show=True),
        Binding("r", "lane('restart')", "Restart", show=True),
        Binding(SEARCH_KEY, "search", "Search", show=True, key_display="/"),
    ]

    class Selected(Message):
        """The highlighted lane changed (keyboard or mouse)."""

        def __init__(self, lane: str) -> None:
            super().__init__()
            self.lane = lane

    class LifecycleRequested(Message):
        """Start, stop or restart the highlighted lane."""

        def __init__(self, lane: str, action: str) -> None:
            super().__init__()
            self.lane, self.action = lane, action

    class SearchRequested(Message):
        """Open the search bar (the screen owns it; the table only filters)."""

    class Narrowed(Message):
        """The lanes shown changed (a search or the state filter): `lanes`, in order.
        The grid shows the same lanes, so a search narrows both views."""

        def __init__(self, lanes: list[str]) -> None:
            super().__init__()
            self.lanes = lanes

    def __init__(self, *, motion: bool = True, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self.motion = motion
        self._infos: dict[str, LaneInfo] = {}
        self._shown: set[str] = set()
        self.state_filter = "all"
        self.search_text = ""
        """The search text (`set_query`); "" shows every lane the state filter lets by."""
        self._frame = 0
        self._spinner: Timer | None = None

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_lane(self) -> str | None:
        if not self._shown or self.cursor_row < 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)
        except Exception:  # an empty table during start-up
            return None

    def set_lane(self, info: LaneInfo) -> None:
        """Add or update one lane's row."""
        new = info.id not in self._infos
        self._infos[info.id] = info
        wanted = self._passes(info)
        if wanted and info.id in self._shown:
            for (key, _), value in zip(COLUMNS, self._cells(info), strict=True):
                self.update_cell(info.id, key, value)
        elif wanted and new:
            self._shown.add(info.id)
            self.add_row(*self._cells(info), key=info.id)
        elif wanted or info.id in self._shown:  # entered or left the filter: keep the order
            self._rebuild()
        if new:
            self._sync_count()
        self._sync_spinner()

    def cycle_filter(self) -> str:
        """Show the next state filter's lanes (all → busy → waiting → failed → all)."""
        self.state_filter = FILTERS[(FILTERS.index(self.state_filter) + 1) % len(FILTERS)]
        self._rebuild()
        base = str(self.border_title or "").split(FILTER_MARK, 1)[0]
        self.border_title = base if self.state_filter == "all" else f"{base}{FILTER_MARK}{self.state_filter}"
        return self.state_filter

    def set_query(self, text: str) -> None:
        """Show only lanes whose id, role or model contains `text` (case-insensitive),
        within the state filter; "" ends the search. The selection stays on its lane
        while that lane still matches."""
        query = text.strip().casefold()
        if query == self.search_text:
            return
        self.search_text = query
        self._rebuild()

    def _passes(self, info: LaneInfo) -> bool:
        if self.state_filter != "all" and info.state != self.state_filter:
            return False
        return not self.search_text or matches(info, self.search_text)

    def _sync_count(self) -> None:
        """The subtitle: how many lanes are shown, whenever a filter or search narrows."""
        if self.state_filter == "all" and not self.search_text:
            self.border_subtitle = ""
            return
        # what was typed is data: plain `Content`, never markup (a `[/` typed here once
        # ended the cockpit with a MarkupError; escaping cannot cover a tag the text only
        # opens and the suffix closes)
        search = f"/{self.search_text} · " if self.search_text else ""
        self.border_subtitle = Content(f"{search}{len(self._shown)} of {len(self._infos)} lanes")

    def _rebuild(self) -> None:
        """The rows again from every lane's info, in first-seen order; the selection kept
        when its lane is still shown (else the first row's lane becomes selected).

        The highlight events of the rebuild itself (the cursor passes row 0 on its way
        back) are held back: delivered late, they moved the selection to a lane the
        person had left, one keystroke later. One `Selected` says where it ends up."""
        keep = self.selected_lane
        before = self.shown_lanes()
        with self.prevent(DataTable.RowHighlighted):
            self.clear(columns=False)
            self._shown = set()
            for info in self._infos.values():
                if self._passes(info):
                    self._shown.add(info.id)
                    self.add_row(*self._cells(info), key=info.id)
            if keep in self._shown:
                self.move_cursor(row=self.get_row_index(keep))
        now = self.selected_lane
        if now is not None and now != keep:
            self.post_message(self.Selected(now))
        if self.shown_lanes() != before:
            self.post_message(self.Narrowed(self.shown_lanes()))
        self._sync_count()

    def shown_lanes(self) -> list[str]:
        """The lanes the list shows, in its order."""
        return [lane for lane in self._infos if lane in self._shown]

    def info(self, lane: str) -> LaneInfo | None:
        return self._infos.get(lane)

    def select(self, lane: str) -> None:
        if lane in self._shown:
            self.move_cursor(row=self.get_row_index(lane))

    def step(self, delta: int) -> None:
        """Move the selection by `delta` rows, wrapping around."""
        if self.row_count:
            self.move_cursor(row=(self.cursor_row + delta) % self.row_count)

    def _cells(self, info: LaneInfo) -> tuple[Text | str, ...]:
        lane = Text(info.id, style=themed("bold $error" if info.state == "failed" else "bold"))
        return (lane, ROLE_SHORT.get(info.role, info.role), state_cell(info, self._frame), model_cell(info),
                fence_cell(info), usage_text(info))

    def _sync_spinner(self) -> None:
        busy = self.motion and any(i.state == "busy" for i in self._infos.values())
        if busy and self._spinner is None:
            self._spinner = self.set_interval(0.12, self._tick)
        elif not busy and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def _tick(self) -> None:
        self._frame += 1
        for info in self._infos.values():
            if info.state == "busy" and info.id in self._shown:
                self.update_cell(info.id, "state", state_cell(info, self._frame))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self and event.row_key.value is not None:
            self.post_message(self.Selected(str(event.row_key.value)))

    def action_search(self) -> None:
        self.post_message(self.SearchRequested())

    def action_lane(self, action: str) -> None:
        lane = self.selected_lane
        if lane is not None:
            self.post_message(self.LifecycleRequested(lane, action))
