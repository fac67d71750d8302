"""The words laneboard's layers share, as Literals: tiers, fences, lane states, roles.

Why here: the config models (pydantic), the harnesses, the router and the TUI all speak
them. Kept in one module below everything, a typo in any layer is a mypy error, and the
TUI no longer needs copies guarded by drift tests.
"""

from __future__ import annotations

from typing import Literal, get_args

Tier = Literal["local", "cheap", "orchestrator", "escalation"]
"""What a model costs and can be trusted with, cheapest first."""
TIERS: tuple[Tier, ...] = get_args(Tier)

FenceName = Literal["read-only", "plan", "workspace-write", "full"]
"""A lane's blast radius, narrowest first; the last two may write."""
FENCES: tuple[FenceName, ...] = get_args(FenceName)
WRITABLE_FENCES: frozenset[FenceName] = frozenset({"workspace-write", "full"})

Role = Literal["orchestrator", "coder", "reviewer", "helper"]
ROLES: tuple[Role, ...] = get_args(Role)

InputTrust = Literal["trusted", "untrusted"]
"""Whether a lane may be handed text from outside (mail, web pages, chats)."""

LaneState = Literal["stopped", "starting", "ready", "busy", "waiting", "failed", "restarting"]
LANE_STATES: tuple[LaneState, ...] = get_args(LaneState)

TurnState = Literal["done", "failed", "timed-out", "interrupted"]
"""How one turn ended."""

ErrorKind = Literal["auth", "rate-limit", "unreachable", "server", "not-found", "bad-request"]
"""Why a model endpoint failed; the first three move a configured chain to its next model."""
FAILOVER_KINDS: frozenset[ErrorKind] = frozenset({"auth", "rate-limit", "unreachable"})

HarnessName = Literal["claude-code", "codex", "ollama", "openai", "command"]
"""The kinds of harness; `laneboard.core.harness_kinds` says what each one is."""


def fence_rank(fence: FenceName) -> int:
    """Position of `fence` from narrowest (0) to widest."""
    return FENCES.index(fence)


def tier_rank(tier: Tier) -> int:
    """Position of `tier` from cheapest (0) to the escalation tier."""
    return TIERS.index(tier)
