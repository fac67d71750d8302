"""What the widgets are shown: plain snapshots of lanes, taken from the supervisor.

Widgets never hold a `LaneRuntime`; the screen turns one into a frozen `LaneInfo` and
hands it down ("attributes down"). That keeps the widgets testable with fixed data
(snapshot tests build `LaneInfo`s, or set a runtime's fields, without any tmux).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from laneboard.core.vocabulary import TIERS

if TYPE_CHECKING:
    from laneboard.config import Config
    from laneboard.lanes.supervisor import LaneRuntime

TIER_SHORT: dict[str, str] = {"local": "local", "cheap": "cheap", "orchestrator": "orch",
                              "escalation": "esc"}
"""The tier column's short names (`laneboard.core.vocabulary.TIERS` in full)."""


@dataclass(frozen=True)
class LaneInfo:
    """One lane as the cockpit displays it."""

    id: str
    role: str
    harness: str
    state: str = "stopped"
    detail: str = ""
    model: str | None = None
    tier: str | None = None
    explicit: bool = False
    fence: str = "read-only"
    input: str = "trusted"
    prompts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    pending_model: str | None = None
    description: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def model_short(self) -> str:
        """The model id without its provider (`gpt-5.5`), or `-` for command lanes."""
        if not self.model:
            return "-"
        return self.model.split("/", 1)[-1]

    @classmethod
    def from_runtime(
        cls, rt: LaneRuntime, *, pending_model: str | None = None, cfg: Config | None = None
    ) -> LaneInfo:
        cand = rt.candidate
        cost = rt.usage.cost_usd
        if cost is None and cfg is not None and cand is not None:
            cost = list_price(cfg, cand.key, rt.usage.input_tokens, rt.usage.output_tokens)
        return cls(
            id=rt.id,
            role=rt.config.role,
            harness=rt.config.harness,
            state=rt.state,
            detail=rt.detail,
            model=cand.key if cand else None,
            tier=cand.tier if cand else None,
            explicit=rt.explicit,
            fence=rt.config.fence,
            input=rt.config.input,
            prompts=rt.prompts,
            input_tokens=rt.usage.input_tokens,
            output_tokens=rt.usage.output_tokens,
            cost_usd=cost,
            pending_model=pending_model,
            description=rt.config.description or "",
        )


def list_price(cfg: Config, model_key: str, input_tokens: int, output_tokens: int) -> float | None:
    """Cost from the allowlist's list price, for CLIs that do not report cost themselves."""
    entry = cfg.models.get(model_key)
    if entry is None or entry.cost is None:
        return None
    return (input_tokens * entry.cost.input + output_tokens * entry.cost.output) / 1_000_000


def human_tokens(n: int) -> str:
    """12 → "12", 1_240 → "1.2k", 12_400 → "12k", 3_100_000 → "3.1M"."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def usage_text(info: LaneInfo) -> str:
    """Short usage cell: prompts, tokens, cost (`3p 12k $0.12`)."""
    parts = [f"{info.prompts}p", human_tokens(info.tokens)]
    if info.cost_usd:
        parts.append(f"${info.cost_usd:.2f}")
    return " ".join(parts)


def tier_shares(lanes: list[LaneInfo]) -> dict[str, dict[str, Any]]:
    """Prompts, tokens and cost per tier: "the expensive model only touches escalations"."""
    out: dict[str, dict[str, Any]] = {
        t: {"prompts": 0, "tokens": 0, "cost": 0.0, "lanes": []} for t in TIERS
    }
    for info in lanes:
        tier = info.tier if info.tier in out else None
        if tier is None:
            continue
        row = out[tier]
        row["prompts"] += info.prompts
        row["tokens"] += info.tokens
        row["cost"] += info.cost_usd or 0.0
        row["lanes"].append(info.id)
    return out
