"""`Route`: where a prompt goes and why — the router's decision, and the record of it.

Why in the base layer: the router decides routes, but the review command, triage, the
commit-message helper and the cockpit's escalation send prompts to a lane they chose
themselves, and every artifact stores the route that sent its prompt. They used to build
that record as a dict literal each (five copies, two spelling the flag `escalates`); one
frozen type with one `as_dict()` keeps the stored shape the same wherever it was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    """Where a prompt goes and why; what `laneboard route --json` prints."""

    lane: str
    """The lane that gets the prompt."""
    rule: str
    """What decided: a rule name, `@lane`, `tool:<pattern>`, `default`, `untrusted`, or
    the command that chose the lane itself (`laneboard review`, triage, …)."""
    reason: str
    """One sentence for a person, naming the rule (and any reroute) that produced it."""
    fence: str
    """The lane's fence; the prompt never widens it."""
    escalate: bool = False
    """The lane is an escalation (its primary model is escalation tier, or it reviews)."""
    triage: bool = False
    """Untrusted text must go through triage (ESCALATE/SKIP) before it is sent."""
    prompt: str | None = None
    """The prompt to send (the router strips an honoured `@lane ` prefix); None when the
    route is recorded beside a prompt stored elsewhere."""

    def as_dict(self) -> dict[str, Any]:
        """The route as plain JSON-able data (`prompt` only when the route carries one)."""
        out: dict[str, Any] = {
            "lane": self.lane,
            "rule": self.rule,
            "reason": self.reason,
            "fence": self.fence,
            "escalate": self.escalate,
            "triage": self.triage,
        }
        if self.prompt is not None:
            out["prompt"] = self.prompt
        return out
