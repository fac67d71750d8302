"""Escalations to the review lane: the prompts (an answer to judge, a diff to review), the
route they travel on, and the review artifact their answer becomes.

Why in the core and not in the cockpit: the wording of a review request and the shape of
its route are policy (what the expensive reviewer is asked, on which fence, with which
rule tag in the artifact), not presentation. The cockpit's ctrl+r / ctrl+t call these; a
future CLI or conductor escalation gets the same text and the same route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from laneboard.core.names import ESCALATE_RULE
from laneboard.core.route import Route

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactRecord
    from laneboard.config import Config
    from laneboard.harnesses.base import TurnResult

__all__ = ["answer_review_prompt", "diff_review_prompt", "escalation_route", "review_lane",
           "review_record"]


def review_lane(cfg: Config) -> str | None:
    """The first lane whose role is `reviewer` (config order), or None."""
    for lane_id, lane in cfg.lanes.items():
        if lane.role == "reviewer":
            return lane_id
    return None


def answer_review_prompt(lane: str, answer: str) -> str:
    """Ask the reviewer to judge another lane's answer, without changing anything."""
    return (f"Review this answer from lane {lane!r}. Judge correctness, risks and what "
            f"is missing. Plan mode: do not change anything.\n\n---\n{answer}")


def diff_review_prompt(diff: str) -> str:
    """Ask the reviewer for a PR review of a diff, without changing anything."""
    return (f"Review this diff (PR review: correctness, security, design). "
            f"Plan mode: do not change anything.\n\n```diff\n{diff}\n```")


def escalation_route(cfg: Config, lane: str, source: str) -> dict[str, object]:
    """The route document of an escalation to `lane` (what its artifact records)."""
    return Route(lane, ESCALATE_RULE, f"escalated from the cockpit: {source}",
                 cfg.lanes[lane].fence, escalate=True).as_dict()


def review_record(cfg: Config, lane: str, prompt: str, result: TurnResult,
                  route: dict[str, object]) -> ArtifactRecord:
    """An escalation's answer as a `review` artifact record (the caller writes it)."""
    from laneboard.artifacts import ArtifactRecord

    return ArtifactRecord.from_turn(result, kind="review", lane=lane, prompt=prompt,
                                    harness=cfg.lanes[lane].harness, route=route)
