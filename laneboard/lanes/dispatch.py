"""Dispatch: deliver a routed prompt, running triage first when the route asks for it.

The one entry point for "route → triage → deliver", so every front end (the cockpit's
prompt bar, a command) applies the same policy:

1. The caller routes (`Router.route`, pure and fast — the cockpit calls it on every
   keystroke and keeps the decision it showed) and hands the `RouteDecision` here.
2. When `decision.triage` is set (untrusted text, `routing.triage` configured), the text
   goes to the triage lane first (`triage_on_lane`): `laneboard.lanes.triage` asks the
   local helper through the supervisor, within `routing.triage.timeout_s`, and fails
   closed — a timeout, a lane that cannot start, a failed turn or any answer other than
   exactly ESCALATE or SKIP counts as ESCALATE.
3. ESCALATE: the text is sent to the decision's lane — for untrusted text that is a lane
   that takes untrusted input on an orchestrator-tier chain (the router saw to it), never
   the local helper. SKIP: nothing is sent.

Like `laneboard triage`, the text the triage model reads is redacted first when
`artifacts.redaction` is on (it reads mail and web pages; a secret in them must not reach
a model for nothing). The lane that gets an ESCALATEd text receives it as written.

Progress is reported through callbacks (`on_verdict`, `on_send`), so a UI can show the
verdict while the answer is still coming; the turn's events flow through the supervisor's
hub as for any send. Nothing here prints or imports a UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from laneboard.core.names import TRIAGE_RULE  # the `rule` of a triage turn's route
from laneboard.core.route import Route
from laneboard.errors import HarnessError, LaneError

if TYPE_CHECKING:
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.router import RouteDecision
    from laneboard.lanes.supervisor import Supervisor
    from laneboard.lanes.triage import TriageVerdict

__all__ = ["TRIAGE_RULE", "Dispatched", "TriageOutcome", "dispatch", "triage_on_lane"]


VerdictHook = Callable[["TriageVerdict", str], None]
"""Called with the verdict and the triage lane, before anything is sent."""
SendHook = Callable[[str, str, dict[str, object]], None]
"""Called with (lane, prompt, route) just before the prompt is sent."""


@dataclass(frozen=True)
class TriageOutcome:
    """What the triage lane said, and the turns it took to say it."""

    verdict: TriageVerdict
    lane: str
    """The triage lane (`routing.triage.lane`)."""
    turns: list[TurnResult] = field(default_factory=list)
    """The triage turns that ran (none when the lane could not even take the prompt)."""

    @property
    def answer(self) -> str | None:
        """The triage model's last reply, if a turn completed."""
        done = [t for t in self.turns if t.state == "done"]
        return done[-1].reply if done else None


@dataclass(frozen=True)
class Dispatched:
    """How a dispatch ended."""

    decision: RouteDecision
    triage: TriageOutcome | None
    """None when the route asked for no triage."""
    result: TurnResult | None
    """The lane's turn; None when triage said SKIP (nothing was sent)."""

    @property
    def sent(self) -> bool:
        return self.result is not None


def _triage_lane(supervisor: Supervisor) -> tuple[str, float]:
    routing = supervisor.cfg.routing
    tcfg = routing.triage if routing else None
    if tcfg is None:
        raise LaneError(
            "the route asks for triage but routing.triage is not configured; set "
            "routing.triage.lane to a local helper lane, as in the shipped config"
        )
    return tcfg.lane, tcfg.timeout_s


async def triage_on_lane(supervisor: Supervisor, text: str) -> TriageOutcome:
    """ESCALATE or SKIP for untrusted `text`, from the lane `routing.triage.lane`.

    Never raises for a lane problem: that is a fail-closed ESCALATE with the reason.
    Raises LaneError only when no triage lane is configured. Cancellation propagates.
    """
    from laneboard.lanes.triage import triage

    lane, timeout_s = _triage_lane(supervisor)
    cfg = supervisor.cfg
    if cfg.artifacts.redaction:
        from laneboard.lanes.redaction import make_redactor

        text = make_redactor(cfg).redact(text).text
    route: dict[str, object] = Route(
        lane, TRIAGE_RULE, "untrusted text: local ESCALATE/SKIP gate", cfg.lanes[lane].fence
    ).as_dict()
    turns: list[TurnResult] = []

    async def ask(prompt: str) -> str:
        result = await supervisor.send(lane, prompt, timeout=timeout_s, route=route,
                                       lock_timeout=timeout_s)
        turns.append(result)
        if result.state != "done":
            raise HarnessError(result.error or f"triage lane {lane} ended {result.state}")
        return result.reply

    verdict = await triage(text, ask, timeout_s)
    return TriageOutcome(verdict, lane, turns)


async def dispatch(
    supervisor: Supervisor,
    decision: RouteDecision,
    *,
    timeout: float = 600.0,
    on_verdict: VerdictHook | None = None,
    on_send: SendHook | None = None,
) -> Dispatched:
    """Deliver `decision.prompt` to `decision.lane` and wait for the turn's end — after
    triage when `decision.triage` is set (see the module docstring)."""
    route = decision.as_dict()
    route.pop("prompt", None)
    outcome: TriageOutcome | None = None
    if decision.triage:
        outcome = await triage_on_lane(supervisor, decision.prompt)
        route["triage_verdict"] = {**outcome.verdict.as_dict(), "lane": outcome.lane}
        if on_verdict is not None:
            on_verdict(outcome.verdict, outcome.lane)
        if not outcome.verdict.escalate:
            return Dispatched(decision, outcome, None)
    if on_send is not None:
        on_send(decision.lane, decision.prompt, route)
    result = await supervisor.send(decision.lane, decision.prompt, timeout=timeout, route=route)
    return Dispatched(decision, outcome, result)
