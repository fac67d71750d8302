"""Per-tool routing, compiled for the gateway and checked by `config check`.

Why here: `routing.tools` (map or list form) and each lane's `tools:` name *lanes*; the
gateway needs *models* (the target lane's chain: its model and fallbacks, with where each
answers and what it costs) and must only ever send a routed model a request in a
protocol it speaks, because it forwards the primary's request as it is, with the tool
choice forced. Both answers need the config and model resolution, i.e. the lanes layer.

Merging follows the router (`route --tool`): a lane's own `tools:` wins over
`routing.tools` for the same name, and the per-lane entries are tried first, so an exact
per-lane name beats a default glob. A route never applies to its own target lane (its
calls already come from that model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from laneboard.config import Config, LoadedConfig
from laneboard.core.harness_kinds import kind
from laneboard.errors import ConfigProblem, ModelRefError
from laneboard.lanes.refs import ResolvedModel, lane_chain


@dataclass(frozen=True)
class ToolRouteEntry:
    pattern: str
    lane: str
    path: tuple[str | int, ...]
    """Where the config names it (for file:line)."""


def merged_routes(cfg: Config) -> list[ToolRouteEntry]:
    """Every tool route, per-lane `tools:` first, one entry per (case-folded) name."""
    out: dict[str, ToolRouteEntry] = {}
    for lane_id, lane in cfg.lanes.items():
        for i, pattern in enumerate(lane.tools):
            out.setdefault(pattern.casefold(),
                           ToolRouteEntry(pattern, lane_id, ("lanes", lane_id, "tools", i)))
    for j, tr in enumerate(cfg.routing.tools if cfg.routing else []):
        for k, pattern in enumerate(tr.tools):
            out.setdefault(pattern.casefold(),
                           ToolRouteEntry(pattern, tr.lane, ("routing", "tools", j, "tools", k)))
    return list(out.values())


def _wire_of_candidate(cfg: Config, cand: ResolvedModel) -> str | None:
    provider = cfg.providers.get(cand.provider)
    return kind(provider.harness).wire if provider is not None else None


def _chain(cfg: Config, lane_id: str) -> list[ResolvedModel]:
    if lane_id not in cfg.lanes or not kind(cfg.lanes[lane_id].harness).takes_model:
        return []
    try:
        return lane_chain(cfg, lane_id)
    except ModelRefError:
        return []


def gateway_tools(cfg: Config, lane_id: str) -> list[dict[str, Any]]:
    """The `tools` field of `lane_id`'s gateway route: for every route that applies to
    it, the target lane's candidates that speak `lane_id`'s protocol (a route whose
    target speaks none of them does not apply to this lane)."""
    wire = kind(cfg.lanes[lane_id].harness).wire
    if wire is None:
        return []
    own = _chain(cfg, lane_id)
    home = cfg.lanes[lane_id].provider or (own[0].provider if own else None)
    out: list[dict[str, Any]] = []
    for entry in merged_routes(cfg):
        if entry.lane == lane_id:
            continue
        cands = []
        for cand in _chain(cfg, entry.lane):
            provider = cfg.providers.get(cand.provider)
            if provider is None or kind(provider.harness).wire != wire:
                continue
            entry_cost = cfg.models.get(cand.key)
            cost = entry_cost.cost if entry_cost is not None else None
            key_env = provider.api_key_env or kind(provider.harness).key_env
            cands.append({
                "base_url": provider.base_url or kind(provider.harness).public_endpoint,
                "model": cand.provider_id,
                "profile": cand.profile or cand.provider,
                "cost": cost.model_dump(exclude_none=True) if cost is not None else None,
                # whose credential a routed call carries (gateway.route_auth)
                "provider": cand.provider,
                "key_env": key_env,
                "keyless": key_env is None and kind(provider.harness).auth_probe == "none",
            })
        if cands:
            out.append({"patterns": [entry.pattern], "lane": entry.lane, "home": home,
                        "candidates": cands})
    return out


def check_tool_routes(loaded: LoadedConfig) -> list[ConfigProblem]:
    """A route whose model cannot speak the protocol of the lane it serves is refused.

    The routed model answers in place of the target lane's model, over the wire protocol
    of that lane (the gateway forwards the request as it is): so the target must be a
    model lane, and every model in its chain (the routed model's fallbacks apply) must
    speak the same protocol as the chain's first — a fallback on another protocol would
    be handed a request it cannot read.
    """
    cfg = loaded.config
    problems: list[ConfigProblem] = []
    for entry in merged_routes(cfg):
        where = loaded.locate(entry.path)
        dotted = ".".join(str(p) for p in entry.path)
        target = cfg.lanes.get(entry.lane)
        if target is None:
            continue  # an unknown lane is the config layer's error, reported there
        if kind(target.harness).wire is None:
            problems.append(ConfigProblem(
                f"tool {entry.pattern!r} is routed to lane {entry.lane!r}, whose harness "
                f"{target.harness!r} runs no model: nothing could answer the call",
                where, dotted,
                expected="a lane whose harness talks to a model (claude-code, codex, openai, "
                         "ollama)",
                hint="route the tool to a model lane, or drop the route",
            ))
            continue
        chain = _chain(cfg, entry.lane)
        wires = [(c, _wire_of_candidate(cfg, c)) for c in chain]
        lane_wire = kind(target.harness).wire
        # a model whose provider is not configured is judged by preflight, not here
        bad = [c.key for c, w in wires if w is not None and w != lane_wire]
        if bad:
            problems.append(ConfigProblem(
                f"tool {entry.pattern!r} is routed to lane {entry.lane!r} "
                f"({lane_wire} protocol), but {', '.join(bad)} cannot speak it: the gateway "
                "would forward the lane's request to a model that cannot read it",
                where, dotted,
                expected=f"models whose provider's harness speaks {lane_wire}",
                hint=f"give lane {entry.lane!r} models of one protocol, or route the tool "
                     "elsewhere",
            ))
    return problems
