"""The main screen: lane list on top, the selected lane's pane (or a grid of every lane),
the route preview and the prompt bar, the footer.

It is the hub of "attributes down, messages up": supervisor facts arrive as messages
(`laneboard.tui.messages`, posted by the app's event pump), widget requests arrive as
their nested messages, and the screen hands plain data down (`LaneInfo`s to the table,
buffered text to the logs, a decision to the preview). The screen never touches the
supervisor and never imports the App: what it asks for goes up as request messages
(`DispatchRequested`, `ModelSwitchRequested`, … — the App handles them in its workers),
and what it must know at once (lane rows, the route preview) it reads through the narrow
`CockpitLink` Protocol (`laneboard.tui.link`).

Output is buffered per lane (`PaneBuffers`) and flushed at most every 100 ms, and only
into logs that are on screen: Textual repaints whenever a widget changes, and repainting
per chunk costs a core (issue 8). No timer runs while nothing arrives.

The screen is composed before the config is loaded (the app loads it in a worker after the
first frame): until `CoreLoaded` arrives the lane list says "loading config…", the prompt
bar takes keys and Enter keeps the text. Then the lanes are listed and everything works.

Enter routes the prompt (the same decision the preview showed) and posts it up to the
app's `dispatch` worker, which runs the core's `laneboard.lanes.dispatch`: triage first for
untrusted text when the config has `routing.triage`, and the verdict (ESCALATE: sent;
SKIP: not sent) is noted in the target lane's pane and shown as a toast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input

from laneboard.core.names import TRIAGE_RULE
from laneboard.errors import LaneboardError
from laneboard.tui import messages as m
from laneboard.tui.buffers import PaneBuffers
from laneboard.tui.link import CockpitLink, link_of
from laneboard.tui.widgets.lane_grid import LaneGrid
from laneboard.tui.widgets.lane_log import LaneLog
from laneboard.tui.widgets.lane_search import LaneSearch
from laneboard.tui.widgets.lane_table import LaneTable
from laneboard.tui.widgets.prompt_bar import LaneSuggester, PromptBar
from laneboard.tui.widgets.route_preview import RoutePreview
from laneboard.tui.widgets.run_tree import RunTree

if TYPE_CHECKING:
    from laneboard.lanes.router import RouteDecision

#: How often visible panes take in new output. Measured (benchmarks/cockpit_bench.py,
#: 8 lanes × 20 lines/s on 2 cores): 100 ms → screen p95 115 ms, CPU 14%; 50 ms → 70 ms,
#: 26%; 70 ms → 82 ms, 20% — the one setting inside both goals (≤ 100 ms, < 25%).
FLUSH_S = 0.07
LOADING_HINT = "loading the config… (type away: Enter works once the lanes are listed)"
_NOTE = "\x1b[2;36m"
_OFF = "\x1b[0m"


class MainScreen(Screen[None]):
    """Lanes, pane, route preview, prompt."""

    BINDINGS = [
        Binding("ctrl+n", "step_lane(1)", "Next lane"),
        Binding("ctrl+b", "step_lane(-1)", "Prev lane", show=False),
        Binding("ctrl+down", "step_lane(1)", "Next lane", show=False),
        Binding("ctrl+up", "step_lane(-1)", "Previous lane", show=False),
        Binding("ctrl+g", "toggle_grid", "Grid"),
        Binding("ctrl+o", "attach", "Attach"),
        Binding("f6", "interrupt", "Interrupt", show=False),
        Binding("f7", "cancel_run", "Cancel run", show=False),
        Binding("f8", "filter_lanes", "Filter", show=False),
        Binding("ctrl+f", "search_lanes", "Search lanes", show=False),
        Binding("ctrl+r", "review_answer", "Review"),
        Binding("ctrl+t", "review_diff", "Review diff", show=False),
        Binding("ctrl+d", "show_diff", "Diff", show=False),
        Binding("pageup", "scroll_pane(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_pane(1)", "Scroll down", show=False),
        Binding("left_square_bracket", "grid_page(-1)", "Grid: previous page", show=False,
                key_display="["),
        Binding("right_square_bracket", "grid_page(1)", "Grid: next page", show=False,
                key_display="]"),
        Binding("escape", "focus_prompt", "Prompt", show=False),
        Binding("f5", "toggle_untrusted", "Untrusted input", show=False),
    ]

    selected: reactive[str | None] = reactive(None)
    grid: reactive[bool] = reactive(False)
    untrusted: reactive[bool] = reactive(False)

    def __init__(self, *, motion: bool = True) -> None:
        super().__init__()
        self.motion = motion
        self.buffers = PaneBuffers()
        self.last_answer: dict[str, str] = {}
        self._streamed: dict[str, int] = {}
        self._screens: dict[str, str] = {}  # the last mirrored screen of full-screen lanes
        self._sent_at: dict[str, float] = {}
        self._flush_timer: Timer | None = None
        self._flushed_at = 0.0
        self._suggester = LaneSuggester([], [])
        self._core_shown = False

    @property
    def cockpit(self) -> CockpitLink:
        """The read side of the app (requests go up as messages)."""
        return link_of(self.app)

    # ------------------------------------------------------------------ layout

    def compose(self) -> Iterator[Widget]:
        table = LaneTable(motion=self.motion, id="lanes")
        table.border_title = f"laneboard · {self.cockpit.session}"
        if not self.cockpit.ready:
            table.border_subtitle = "loading config…"
        with Horizontal(id="top"):
            yield table
            yield RunTree(id="runs")
        yield LaneSearch(id="lane-search")
        yield LaneLog(id="pane")
        yield LaneGrid(id="grid")
        yield RoutePreview(id="preview")
        yield PromptBar(self._suggester, blink=self.motion, id="prompt")
        yield Footer()

    @property
    def lane_table(self) -> LaneTable:
        return self.query_one("#lanes", LaneTable)

    @property
    def lane_search(self) -> LaneSearch:
        return self.query_one("#lane-search", LaneSearch)

    @property
    def pane(self) -> LaneLog:
        return self.query_one("#pane", LaneLog)

    @property
    def lane_grid(self) -> LaneGrid:
        return self.query_one("#grid", LaneGrid)

    @property
    def preview(self) -> RoutePreview:
        return self.query_one("#preview", RoutePreview)

    @property
    def prompt_bar(self) -> PromptBar:
        return self.query_one("#prompt", PromptBar)

    def on_mount(self) -> None:
        self.prompt_bar.focus_prompt()
        if self.cockpit.ready:
            self._show_core()
        else:
            self.preview.hint = LOADING_HINT

    def on_core_loaded(self, event: m.CoreLoaded) -> None:
        self._show_core()

    def _show_core(self) -> None:
        """The config is loaded: list the lanes, fill the grid and the completions."""
        if self._core_shown:
            return
        self._core_shown = True
        app = self.cockpit
        self.lane_table.border_title = f"laneboard · {app.session}"
        self.lane_table.border_subtitle = ""
        ids = app.lane_ids()
        self._suggester.lanes = ids
        self._suggester.models = app.chat_models()
        self.lane_grid.set_lanes(ids)
        self.refresh_lanes()
        if ids and self.selected is None:
            self.selected = ids[0]
        self.preview.hint = ""
        self._preview(self.prompt_bar.text)

    def refresh_lanes(self) -> None:
        """Re-read every lane from the supervisor into the table."""
        if not self.cockpit.ready:
            return
        for info in self.cockpit.lane_infos():
            self.lane_table.set_lane(info)

    def _refresh_lane(self, lane: str) -> None:
        info = self.cockpit.lane_info(lane)
        if info is not None:
            self.lane_table.set_lane(info)

    def on_lanes_changed(self, event: m.LanesChanged) -> None:
        self.refresh_lanes()

    def on_runs_changed(self, event: m.RunsChanged) -> None:
        """The conductor's active runs, beside the lane list (hidden while none)."""
        self.query_one("#runs", RunTree).show_runs(event.runs)

    # ------------------------------------------------------------------ selection and views

    def select_lane(self, lane: str) -> None:
        self.lane_table.select(lane)
        self.selected = lane

    def watch_selected(self, lane: str | None) -> None:
        if lane is None:
            return
        if self.lane_table.selected_lane != lane:
            self.lane_table.select(lane)
        self._show_in(self.pane, lane)
        if self.grid:
            self.lane_grid.show_lane(lane)  # its page (PageChanged refills and mirrors)
        self.lane_grid.mark_selected(lane)
        self._mirror_visible()

    def watch_grid(self, grid: bool) -> None:
        self.pane.display = not grid
        self.lane_grid.display = grid
        for log in self._visible_logs():
            if log.lane:
                self._show_in(log, log.lane)
        self.lane_grid.mark_selected(self.selected)
        self._mirror_visible()

    def _show_in(self, log: LaneLog, lane: str) -> None:
        """Fill `log` with the lane: its mirrored screen (full-screen agents) or its text."""
        screen = self._screens.get(lane)
        if screen is not None:
            log.show_screen(lane, screen)
        else:
            log.show(lane, self.buffers.refill(lane))

    def _mirror_visible(self) -> None:
        """Ask the core to mirror the screens of the lanes on display (and only those)."""
        if self.cockpit.ready:
            lanes = [log.lane for log in self._visible_logs() if log.lane]
            self.post_message(m.MirrorRequested(lanes))

    def on_lane_grid_page_changed(self, event: LaneGrid.PageChanged) -> None:
        """Another page of the grid: refill its logs, mirror exactly its lanes."""
        if not self.grid:
            return
        for log in self.lane_grid.logs():
            if log.lane:
                self._show_in(log, log.lane)
        self.lane_grid.mark_selected(self.selected)
        self._mirror_visible()

    def on_screen_mirrored(self, event: m.ScreenMirrored) -> None:
        self._screens[event.lane] = event.screen
        for log in self._visible_logs():
            if log.lane == event.lane:
                log.show_screen(event.lane, event.screen)

    def watch_untrusted(self, untrusted: bool) -> None:
        self.preview.untrusted = untrusted
        self._preview(self.prompt_bar.text)

    def _visible_logs(self) -> list[LaneLog]:
        return self.lane_grid.logs() if self.grid else [self.pane]

    def on_lane_table_selected(self, event: LaneTable.Selected) -> None:
        self.selected = event.lane

    def on_select_lane(self, event: m.SelectLane) -> None:
        self.select_lane(event.lane)

    def action_step_lane(self, delta: int) -> None:
        self.lane_table.step(delta)

    def action_toggle_grid(self) -> None:
        self.grid = not self.grid

    def action_filter_lanes(self) -> None:
        """Narrow the lane list to busy, waiting or failed lanes (64 lanes need it)."""
        self.lane_table.cycle_filter()

    def action_search_lanes(self) -> None:
        """Open the search bar under the lane list (`/` there, or the palette)."""
        self.lane_search.open()

    def on_lane_table_search_requested(self, event: LaneTable.SearchRequested) -> None:
        self.action_search_lanes()

    def on_lane_table_narrowed(self, event: LaneTable.Narrowed) -> None:
        """A search or the state filter narrowed the list: the grid shows those lanes."""
        if self._core_shown:
            self.lane_grid.set_lanes(event.lanes)

    @on(Input.Changed, "#lane-search")
    def _on_search_changed(self, event: Input.Changed) -> None:
        self.lane_table.set_query(event.value)

    def on_lane_search_step(self, event: LaneSearch.Step) -> None:
        self.lane_table.step(event.delta)

    def on_lane_search_closed(self, event: LaneSearch.Closed) -> None:
        """Back to the list: Enter keeps the search (its count stays in the list's
        border), Esc has cleared it."""
        self.lane_search.close()
        self.lane_table.focus()

    def action_grid_page(self, direction: int) -> None:
        """Turn the grid's page (PageChanged then refills and re-mirrors)."""
        if self.grid:
            self.lane_grid.turn_page(direction)

    def action_toggle_untrusted(self) -> None:
        self.untrusted = not self.untrusted
        self.notify("untrusted input: " + ("on — routed as mail/web text" if self.untrusted else "off"))

    def action_focus_prompt(self) -> None:
        self.prompt_bar.focus_prompt()

    def action_scroll_pane(self, direction: int) -> None:
        """PageUp/PageDown: scroll the pane; in the grid, turn its page."""
        if self.grid and self.lane_grid.pages > 1:
            self.lane_grid.turn_page(direction)
            return
        log = self.pane if not self.grid else self.lane_grid.log_for(self.selected or "")
        if log is not None:
            log.scroll_to(y=log.scroll_y + direction * max(log.size.height - 1, 1), animate=False)

    def action_attach(self) -> None:
        if self.selected:
            self.post_message(m.AttachRequested(self.selected))

    def action_cancel_run(self) -> None:
        """Cancel the conductor run under the run tree's cursor (else the oldest active
        one): the App interrupts every lane working on it."""
        run = self.query_one("#runs", RunTree).selected_run
        if run is None:
            self.notify("no delegation is running", title="nothing to cancel",
                        severity="warning")
            return
        self.post_message(m.RunCancelRequested(run))

    def action_interrupt(self) -> None:
        """Interrupt the selected lane's turn (the App asks its harness)."""
        if self.selected:
            self.post_message(m.InterruptRequested(self.selected))

    # ------------------------------------------------------------------ output

    def on_output_received(self, event: m.OutputReceived) -> None:
        # only a lane on screen needs a flush: with 64 lanes streaming, the hidden ones kept
        # the timer always running, so the shown lane's lines waited for it (issue 18)
        shown = any(log.lane == event.lane for log in self._visible_logs())
        self.buffers.feed(event.lane, event.data, shown=shown)
        self._streamed[event.lane] = self._streamed.get(event.lane, 0) + len(event.data)
        if shown:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Flush now when the last flush is FLUSH_S old (a line after a quiet spell shows
        at once), else when it will be (a burst is coalesced: at most one per FLUSH_S)."""
        if self._flush_timer is None:
            wait = self._flushed_at + FLUSH_S - time.monotonic()
            if wait <= 0:
                self._flush()
            else:
                self._flush_timer = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        """Move pending text into the logs on screen; text for hidden lanes stays buffered."""
        self._flush_timer = None
        self._flushed_at = time.monotonic()
        shown = {log.lane: log for log in self._visible_logs() if log.lane}
        for lane in list(self.buffers.dirty):
            text = self.buffers.take(lane)
            log = shown.get(lane)
            if log is not None and lane not in self._screens:  # a mirrored screen wins
                log.append(text)
        self.buffers.dirty.clear()

    def flush_now(self) -> None:
        """Flush immediately (tests and benchmarks)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
        self._flush()

    def _note(self, lane: str, text: str) -> None:
        self.buffers.note(lane, f"{_NOTE}{text}{_OFF}")
        self._schedule_flush()

    def on_lane_note(self, event: m.LaneNote) -> None:
        self._note(event.lane, event.text)

    # ------------------------------------------------------------------ supervisor facts

    def on_lane_state_updated(self, event: m.LaneStateUpdated) -> None:
        self._refresh_lane(event.lane)
        if event.state in ("ready", "stopped", "failed"):
            if event.state != "ready":
                self._screens.pop(event.lane, None)  # a fresh process draws a fresh screen
            self._mirror_visible()
        if event.state == "failed":
            self.notify(event.detail or "the lane failed", title=f"{event.lane} failed",
                        severity="error", timeout=10)
        elif event.state == "waiting":
            self.notify(event.detail or "it waits for input or a permission",
                        title=f"{event.lane} needs you", severity="warning", timeout=10)

    def on_usage_updated(self, event: m.UsageUpdated) -> None:
        self._refresh_lane(event.lane)

    def on_lane_errored(self, event: m.LaneErrored) -> None:
        info = self.cockpit.lane_info(event.lane)
        if info is not None and info.state in ("starting", "failed"):
            return  # the failed state says it once, with the reason
        if event.kind not in ("fence", "failed"):
            self.notify(event.message, title=f"{event.lane}: {event.kind}", severity="warning")

    def on_fence_tripped(self, event: m.FenceTripped) -> None:
        self._note(event.lane, f"⛔ fence: {event.message}")
        self.notify(event.message, title=f"{event.lane}: fence denied", severity="error",
                    timeout=10)

    def on_model_changed(self, event: m.ModelChanged) -> None:
        self._refresh_lane(event.lane)
        if event.explicit:
            self.notify(f"{event.lane} now runs {event.model}", title="model switched")
        else:
            self.notify(event.reason, title=f"{event.lane} fell back to {event.model}",
                        severity="warning")

    def on_model_switch_waiting(self, event: m.ModelSwitchWaiting) -> None:
        self._refresh_lane(event.lane)
        self.notify(f"{event.lane} is busy: switching to {event.model} once it is idle",
                    title="waiting for idle")

    def on_context_warned(self, event: m.ContextWarned) -> None:
        pct = 100 * event.used / event.window if event.window else 0
        self.notify(f"{event.used:,} of {event.window:,} tokens ({pct:.0f}%)",
                    title=f"{event.lane}: context nearly full", severity="warning")

    def on_turn_finished(self, event: m.TurnFinished) -> None:
        result, lane = event.result, event.lane
        if result.reply and not self._streamed.get(lane):
            self.buffers.feed(lane, result.reply.rstrip("\n") + "\n")
        self.last_answer[lane] = result.reply or self.buffers.plain_tail(lane)
        took = time.monotonic() - self._sent_at.pop(lane, time.monotonic())
        triage_turn = event.route.get("rule") == TRIAGE_RULE
        if result.state == "done":
            self._note(lane, f"✓ done in {took:.1f}s · {result.model or '-'}")
            if not triage_turn:  # the verdict's own toast follows
                self.notify(f"{len(result.reply)} chars in {took:.1f}s", title=f"{lane} finished")
        else:
            self._note(lane, f"✗ {result.state}: {result.error or ''}")
            self.notify(result.error or result.state, title=f"{lane}: turn {result.state}",
                        severity="error", timeout=10)
        self._refresh_lane(lane)  # an escalation's answer is stored by the app

    def on_triage_decided(self, event: m.TriageDecided) -> None:
        lane, why = event.lane, event.reason
        if event.sent:
            self._note(lane, f"⚖ triage ({event.triage_lane}): ESCALATE — {why} → sent to {lane}")
            self.notify(f"{why}. Sent to {lane}.", title="triage: ESCALATE",
                        severity="warning" if event.failed_closed else "information")
        else:
            self._note(lane, f"⚖ triage ({event.triage_lane}): SKIP — {why}; not sent")
            self.notify(f"{why}. Nothing was sent to {lane}.", title="triage: SKIP")

    def on_prompt_sent(self, event: m.PromptSent) -> None:
        self._streamed[event.lane] = 0
        self._sent_at[event.lane] = time.monotonic()
        rule = event.route.get("rule", "")
        first = event.prompt.strip().splitlines()[0] if event.prompt.strip() else ""
        self._note(event.lane, f"› you → {event.lane} [{rule}] {first[:200]}")

    # ------------------------------------------------------------------ the prompt

    def on_prompt_bar_changed(self, event: PromptBar.Changed) -> None:
        self._preview(event.text)

    def _preview(self, text: str) -> None:
        preview = self.preview
        preview.error = ""
        if not self.cockpit.ready:
            preview.decision = None
            preview.hint = LOADING_HINT
            return
        if not text.strip():
            preview.decision = None
            return
        if text.startswith("/"):
            preview.decision = None
            preview.hint = self._command_hint(text)
            return
        try:
            preview.decision = self.cockpit.route(text, untrusted=self.untrusted)
        except LaneboardError as e:
            preview.decision = None
            preview.error = str(e)

    def _command_hint(self, text: str) -> str:
        if text.startswith("/model"):
            ref = text[len("/model"):].strip()
            lane = self.selected or "-"
            return f"/model: switch {lane} to {ref or 'REF'} (strict: no fallback; waits while busy)"
        return "commands: /model REF"

    def on_prompt_bar_submitted(self, event: PromptBar.Submitted) -> None:
        text = event.text
        if not self.cockpit.require_ready():
            self.prompt_bar.restore(text)
            return
        self.preview.decision = None
        self.preview.hint = ""
        if text.startswith("/model"):
            ref = text[len("/model"):].strip()
            if not ref or not self.selected:
                self.notify("usage: /model REF (switches the selected lane)", severity="warning")
                return
            self.post_message(m.ModelSwitchRequested(self.selected, ref))
            return
        if text.startswith("/"):
            self.notify(f"unknown command {text.split()[0]!r}; try /model REF",
                        severity="warning")
            return
        try:
            decision = self.cockpit.route(text, untrusted=self.untrusted)
        except LaneboardError as e:
            self.notify(str(e), title="not sent", severity="error", timeout=10)
            return
        self._dispatch(decision)

    def _dispatch(self, decision: RouteDecision) -> None:
        """Hand a routed prompt up to the app's dispatch worker (triage first if the route
        says so); the answer streams into the decision's lane, which becomes selected."""
        lane = decision.lane
        if decision.triage:
            gate = self.cockpit.triage_lane() or "?"
            first = decision.prompt.strip().splitlines()[0] if decision.prompt.strip() else ""
            self._note(lane, f"› untrusted text for {lane}: triage first, on lane {gate} "
                             f"(ESCALATE sends it, SKIP drops it) · {first[:120]}")
            self._sent_at[gate] = time.monotonic()
            self._streamed[gate] = 0
        if self.selected != lane and not self.grid:
            self.select_lane(lane)
        self.post_message(m.DispatchRequested(decision))

    def on_follow_lane(self, event: m.FollowLane) -> None:
        if self.selected != event.lane and not self.grid:
            self.select_lane(event.lane)

    # ------------------------------------------------------------------ escalation

    def action_review_answer(self) -> None:
        """Escalate the selected lane's last answer (the app picks the review lane)."""
        lane = self.selected
        if lane is not None:
            answer = self.last_answer.get(lane) or self.buffers.plain_tail(lane)
            self.post_message(m.AnswerReviewRequested(lane, answer))

    def action_review_diff(self) -> None:
        """Escalate the selected lane's branch diff (its worktree), else the workspace's."""
        self.post_message(m.DiffReviewRequested(self.selected))

    def action_show_diff(self) -> None:
        """Open the selected lane's worktree diff (files + coloured patch)."""
        if self.selected is not None:
            self.post_message(m.DiffViewRequested(self.selected))
