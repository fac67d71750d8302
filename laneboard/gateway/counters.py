"""Per-lane counts the gateway keeps: requests, exact tokens, cost, refusals, redactions.

Why here: only the gateway sees every API response's usage fields, for every harness (the
usage screen showed `-` for Codex and interactive Claude). Tokens come from the API's own
usage fields; cost only from prices the user configured (`models.<ref>.cost`, per million
tokens) — laneboard invents none, so without a price `cost_usd` stays null.
Persisted as JSON in the gateway's private folder after each request, so a restarted
gateway (and `laneboard gateway status`, another process) sees the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from laneboard.gateway.protocols import Usage
from laneboard.gateway.statefiles import atomic_private_json, read_json


@dataclass
class LaneCounts:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float | None = None
    refused: int = 0
    redactions: int = 0
    fallbacks: int = 0
    errors: int = 0
    degenerate: int = 0
    routes_skipped: int = 0
    """Routed tool calls left with the primary: no candidate had a credential."""
    failover_skipped: int = 0
    """Fallback candidates on another provider left out: no credential for them."""

    def public(self) -> dict[str, Any]:
        """The `status --json` shape of one lane."""
        keys = ("requests", "input_tokens", "output_tokens", "cost_usd", "refused",
                "redactions", "fallbacks", "failover_skipped")
        d = asdict(self)
        return {k: d[k] for k in keys}


def cost_of(usage: Usage, price: Mapping[str, float] | None) -> float | None:
    if not price:
        return None
    per = 1_000_000.0
    return (usage.input_tokens * float(price.get("input", 0.0))
            + usage.output_tokens * float(price.get("output", 0.0))
            + usage.cache_read * float(price.get("cache_read", price.get("input", 0.0)))) / per


class Counters:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lanes: dict[str, LaneCounts] = {}
        raw = read_json(path)
        if isinstance(raw, dict):
            for lane, vals in raw.items():
                if isinstance(vals, dict):
                    known = {k: v for k, v in vals.items() if k in LaneCounts.__dataclass_fields__}
                    try:
                        self.lanes[lane] = LaneCounts(**known)
                    except TypeError:
                        continue

    def lane(self, lane: str) -> LaneCounts:
        return self.lanes.setdefault(lane, LaneCounts())

    def add_usage(self, lane: str, usage: Usage, price: Mapping[str, float] | None) -> None:
        c = self.lane(lane)
        c.input_tokens += usage.input_tokens + usage.cache_read
        c.output_tokens += usage.output_tokens
        c.cache_read_tokens += usage.cache_read
        cost = cost_of(usage, price)
        if cost is not None:
            c.cost_usd = (c.cost_usd or 0.0) + cost

    def save(self, *, durable: bool = True) -> None:
        atomic_private_json(self.path, {k: asdict(v) for k, v in self.lanes.items()},
                            durable=durable)
