"""App-wide Textual messages: supervisor facts (past tense) and user requests (imperative).

The event pump (`LaneboardApp._pump_events`, a Textual worker) turns each
`laneboard.lanes.events` event into one of these with `from_event` and posts it to the
main screen, which hands the data down to its widgets. Widget-local messages (a prompt
submitted, a row picked) are nested in the widget that sends them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

from laneboard.core.vocabulary import LaneState

if TYPE_CHECKING:
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.events import SupervisorEvent
    from laneboard.lanes.router import RouteDecision


class LaneStateUpdated(Message):
    """A lane moved in its state machine (stopped → starting → ready ⇄ busy → …)."""

    def __init__(self, lane: str, state: LaneState, detail: str = "") -> None:
        super().__init__()
        self.lane, self.state, self.detail = lane, state, detail


class OutputReceived(Message):
    """New pane output for a lane (raw, ANSI kept)."""

    def __init__(self, lane: str, data: str) -> None:
        super().__init__()
        self.lane, self.data = lane, data


class ScreenMirrored(Message):
    """The visible screen of a full-screen lane (ANSI kept): it replaces the pane's text."""

    def __init__(self, lane: str, screen: str) -> None:
        super().__init__()
        self.lane, self.screen = lane, screen


class UsageUpdated(Message):
    """A lane's prompt count, tokens or cost changed."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane


class LaneErrored(Message):
    """Something went wrong in a lane (provider error, exit, watchdog, start)."""

    def __init__(self, lane: str, kind: str, message: str) -> None:
        super().__init__()
        self.lane, self.kind, self.message = lane, kind, message


class FenceTripped(Message):
    """A fence denied something in a lane."""

    def __init__(self, lane: str, message: str) -> None:
        super().__init__()
        self.lane, self.message = lane, message


class TurnFinished(Message):
    """A prompt's turn ended: the reply (or the error) and the route it took."""

    def __init__(self, lane: str, prompt: str, result: TurnResult, route: dict[str, object]) -> None:
        super().__init__()
        self.lane, self.prompt, self.result, self.route = lane, prompt, result, route


class ModelChanged(Message):
    """A lane's model changed: by failover (explicit=False) or by the user."""

    def __init__(self, lane: str, model: str, explicit: bool, reason: str = "") -> None:
        super().__init__()
        self.lane, self.model, self.explicit, self.reason = lane, model, explicit, reason


class ModelSwitchWaiting(Message):
    """A model switch waits for the lane to be idle."""

    def __init__(self, lane: str, model: str) -> None:
        super().__init__()
        self.lane, self.model = lane, model


class ContextWarned(Message):
    """A lane used 80% of its model's context window."""

    def __init__(self, lane: str, used: int, window: int) -> None:
        super().__init__()
        self.lane, self.used, self.window = lane, used, window


class PromptSent(Message):
    """A prompt left for a lane (posted by the app before the send worker runs)."""

    def __init__(self, lane: str, prompt: str, route: dict[str, object]) -> None:
        super().__init__()
        self.lane, self.prompt, self.route = lane, prompt, route


class CoreLoaded(Message):
    """The config is loaded and the supervisor exists: list the lanes (posted by the app)."""


class TriageDecided(Message):
    """The triage lane answered for untrusted text bound for `lane`: ESCALATE (it is sent)
    or SKIP (it is not); `failed_closed` when ESCALATE came from a timeout, an error or an
    answer that was not exactly one of the two words."""

    def __init__(self, lane: str, triage_lane: str, verdict: str, reason: str,
                 failed_closed: bool) -> None:
        super().__init__()
        self.lane, self.triage_lane, self.verdict = lane, triage_lane, verdict
        self.reason, self.failed_closed = reason, failed_closed

    @property
    def sent(self) -> bool:
        return self.verdict == "ESCALATE"


class SelectLane(Message):
    """Request: make `lane` the selected lane (palette, `@lane` sends, notifications)."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane



class FollowLane(Message):
    """Down: a prompt left for `lane` on the cockpit's initiative (an escalation): show it,
    unless the grid already shows every lane."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane


class LaneNote(Message):
    """Down: a line for a lane's pane from the app (e.g. a model switch that waits)."""

    def __init__(self, lane: str, text: str) -> None:
        super().__init__()
        self.lane, self.text = lane, text


class LanesChanged(Message):
    """Down: lanes started, stopped or switched models: re-read them into the table."""


class RunsChanged(Message):
    """Down: the conductor's active runs (plain data from `ControlServer.active_runs`:
    {"run", "root", "hops": [{"hop", "parent", "caller", "lane", "tool", "state", …}]})."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.runs = runs


# ---------------------------------------------------------------------------- requests up
# Screens and the palette post these; the App handles them (`@on`) and is the only one
# that calls the supervisor. Results come back down as the facts above.


class DispatchRequested(Message):
    """Up: deliver a routed prompt (triage first when the decision says so)."""

    def __init__(self, decision: RouteDecision) -> None:
        super().__init__()
        self.decision = decision


class LifecycleRequested(Message):
    """Up: start, stop or restart a lane because the person asked."""

    def __init__(self, lane: str, action: str) -> None:
        super().__init__()
        self.lane, self.action = lane, action


class ModelSwitchRequested(Message):
    """Up: switch a lane's model (strict: an allowlisted ref, no fallback)."""

    def __init__(self, lane: str, ref: str) -> None:
        super().__init__()
        self.lane, self.ref = lane, ref


class AttachRequested(Message):
    """Up: suspend the cockpit and attach the terminal to the lane's tmux window."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane


class InterruptRequested(Message):
    """Up: interrupt the lane's current turn through its harness (the lane keeps running)."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane


class RunCancelRequested(Message):
    """Up: cancel a conductor run: interrupt every lane working on it."""

    def __init__(self, run: str) -> None:
        super().__init__()
        self.run = run


class MirrorRequested(Message):
    """Up: these lanes are on display; mirror their screens (and only theirs)."""

    def __init__(self, lanes: list[str]) -> None:
        super().__init__()
        self.lanes = lanes


class AnswerReviewRequested(Message):
    """Up: escalate `answer`, the last answer of `lane`, to the review lane (ctrl+r)."""

    def __init__(self, lane: str, answer: str) -> None:
        super().__init__()
        self.lane, self.answer = lane, answer


class DiffReviewRequested(Message):
    """Up: escalate a diff to the review lane (ctrl+t): `lane`'s branch against its base
    when that lane has a worktree, else `git diff HEAD` of the workspace."""

    def __init__(self, lane: str | None = None) -> None:
        super().__init__()
        self.lane = lane


class DiffViewRequested(Message):
    """Up: open the diff screen for `lane`'s worktree (ctrl+d)."""

    def __init__(self, lane: str) -> None:
        super().__init__()
        self.lane = lane


def from_event(ev: SupervisorEvent) -> Message | None:
    """The Textual message for one supervisor event (None for an unknown kind)."""
    from laneboard.lanes import events as e

    if isinstance(ev, e.LaneOutput):
        return OutputReceived(ev.lane, ev.data)
    if isinstance(ev, e.LaneScreen):
        return ScreenMirrored(ev.lane, ev.screen)
    if isinstance(ev, e.LaneStateChanged):
        return LaneStateUpdated(ev.lane, ev.state, ev.detail)
    if isinstance(ev, e.LaneUsageUpdated):
        return UsageUpdated(ev.lane)
    if isinstance(ev, e.FenceTripped):
        return FenceTripped(ev.lane, ev.message)
    if isinstance(ev, e.LaneErrored):
        return LaneErrored(ev.lane, ev.kind, ev.message)
    if isinstance(ev, e.TurnCompleted):
        return TurnFinished(ev.lane, ev.prompt, ev.result, dict(ev.route))
    if isinstance(ev, e.ModelSwitched):
        return ModelChanged(ev.lane, ev.model, ev.explicit, ev.reason)
    if isinstance(ev, e.ModelSwitchPending):
        return ModelSwitchWaiting(ev.lane, ev.model)
    if isinstance(ev, e.ContextWarning):
        return ContextWarned(ev.lane, ev.used, ev.window)
    return None
