"""Who may hand what to whom: the conductor's rules, checked by the server on every hop.

The MCP client is an agent, and an agent can be talked into anything by what it reads;
so nothing the client says about itself is believed. The caller is the lane its token
names (`protocol.lane_token`); its place in a run (parent hop, depth, the lanes above it)
is what the server recorded when it handed that lane its current work. Each check raises
`Refused(rule, why)`, and the rule names are part of the tool contract (the orchestrator
reads them to adapt):

- `unknown-lane`: the target is not a configured lane.
- `delegates`: `lanes.<caller>.delegates` does not list the target (default: an
  orchestrator may delegate to every other lane, any other role to none).
- `no-cycles`: the target already works on this run above the caller (main → coder →
  main), or is the caller itself.
- `depth-limit`: the hop would be deeper than the limit (default 2: main → coder → helper).
- `fence`: the target's fence is wider than the caller's, and
  `lanes.<caller>.delegate_wider` does not name the target.
- `untrusted-input`: the task is untrusted (the caller said so, the caller's lane takes
  untrusted input, or an ancestor hop was untrusted) and the target's model chain is not
  orchestrator tier or above, every model of it (a fallback is where a cheap model would
  slip in). This is the TIER rule only: the target's own `input: untrusted` is a person's
  opt-in for handing a lane mail directly, and an orchestrator that already read the mail
  hands on a task it wrote, to a model as hard to steer as itself. A lane with no model
  chain (a command lane) has no tier, so it is refused.
- `writable-cheap`: the target can write and its model chain has a local or cheap model.
- `escalation-for-judgment`: `delegate` to an escalation lane (a reviewer, or an
  escalation-tier primary): escalation is for review, so use the `review` tool.
- `budget-turns` / `budget-tokens`: the run has used its turns or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from laneboard.conductor.protocol import Refused
from laneboard.config import TIER_ORDER, WRITABLE_FENCES, Config
from laneboard.core.vocabulary import fence_rank
from laneboard.errors import LaneboardError
from laneboard.lanes.router import Router

__all__ = ["Limits", "Position", "allowed_delegates", "check_budget", "check_hop"]

_ORCHESTRATOR = TIER_ORDER["orchestrator"]


@dataclass(frozen=True)
class Limits:
    """The per-run limits (the server's defaults; a test may tighten them)."""

    max_depth: int = 2
    max_turns: int = 16
    max_tokens: int = 2_000_000


@dataclass(frozen=True)
class Position:
    """Where the caller stands: the lanes above it on its run (root first, itself last),
    its depth (0 for a lane asked by a person) and whether its task was untrusted."""

    chain: tuple[str, ...]
    depth: int
    untrusted: bool


def allowed_delegates(cfg: Config, caller: str) -> list[str]:
    """The lanes `caller` may hand work to (the `delegates` rule)."""
    lane = cfg.lanes[caller]
    if lane.delegates is not None:
        return list(lane.delegates)
    if lane.role == "orchestrator":
        return [lid for lid in cfg.lanes if lid != caller]
    return []


def _is_escalation(cfg: Config, lane_id: str) -> bool:
    from laneboard.lanes.refs import lane_chain

    if cfg.lanes[lane_id].role == "reviewer":
        return True
    try:
        chain = lane_chain(cfg, lane_id, strict=True)
    except LaneboardError:
        return False
    return bool(chain) and chain[0].tier == "escalation"


def _cheap_models(cfg: Config, lane_id: str) -> list[str]:
    from laneboard.lanes.refs import lane_chain

    try:
        chain = lane_chain(cfg, lane_id)
    except LaneboardError:
        return ["(a chain that does not resolve)"]
    return [f"{m.key} ({m.tier})" for m in chain if TIER_ORDER.get(m.tier, -1) < _ORCHESTRATOR]


def _below_orchestrator(cfg: Config, lane_id: str) -> str:
    """Why `lane_id` may not take an untrusted task (the tier rule), or "" when it may."""
    from laneboard.lanes.refs import lane_chain

    try:
        chain = lane_chain(cfg, lane_id)
    except LaneboardError as e:
        return f"its model chain does not resolve ({e})"
    if not chain:
        return "it runs no configured model, so its tier is unknown"
    low = [f"{m.key} ({m.tier} tier)" for m in chain
           if TIER_ORDER.get(m.tier, -1) < _ORCHESTRATOR]
    return f"its model chain includes {', '.join(low)}" if low else ""


def _group_members(cfg: Config, name: str) -> list[str]:
    """The replica ids (`coder-1` …) of group `name` in the supervisor's expanded config;
    [] when `name` is a lane of its own or no group."""
    if name in cfg.lanes:
        return []
    return [lid for lid in cfg.lanes
            if lid.rpartition("-")[0] == name and lid.rpartition("-")[2].isdigit()]


def _names(cfg: Config, lane_id: str) -> set[str]:
    """A runtime lane and, for a replica, its group: `coder-2` → {coder-2, coder}."""
    group, _, n = lane_id.rpartition("-")
    return {lane_id, group} if n.isdigit() and group and group not in cfg.lanes else {lane_id}


def check_hop(
    cfg: Config, router: Router, caller: str, target: str, task: str, pos: Position,
    limits: Limits, *, tool: str,
) -> bool:  # fmt: skip
    """Raise Refused when `caller` may not hand `task` to `target` by `tool`; else return
    whether the task is untrusted (which the new hop inherits).

    `target` may name a replica group (`coder`: the supervisor picks an idle replica) or one
    replica (`coder-2`); the rules are checked on the group's settings, which every replica
    shares, and `delegates` / `delegate_wider` may name either."""
    members = _group_members(cfg, target)
    probe = members[0] if members else target
    if probe not in cfg.lanes:
        raise Refused("unknown-lane", f"no lane named {target!r} (lanes: {', '.join(cfg.lanes)})")
    names = _names(cfg, probe) | {target}
    allowed = allowed_delegates(cfg, caller)
    if not names & set(allowed):
        source = (f"lanes.{caller}.delegates" if cfg.lanes[caller].delegates is not None
                  else f"the default for role {cfg.lanes[caller].role}")
        listed = ", ".join(allowed) or "no lane"
        raise Refused("delegates", f"{caller!r} may not delegate to {target!r}: {source} "
                      f"allows {listed}")
    working = set().union(*(_names(cfg, lane) for lane in (*pos.chain, caller)))
    if names & working:
        path = " → ".join((*pos.chain, target))
        raise Refused("no-cycles", f"{target!r} already works on this run ({path})")
    if pos.depth + 1 > limits.max_depth:
        raise Refused("depth-limit", f"this hop would be {pos.depth + 1} deep; the limit is "
                      f"{limits.max_depth} ({' → '.join((*pos.chain, target))})")
    mine, theirs = cfg.lanes[caller].fence, cfg.lanes[probe].fence
    if fence_rank(theirs) > fence_rank(mine) and not names & set(cfg.lanes[caller].delegate_wider):
        raise Refused("fence", f"{target!r} has fence {theirs}, wider than {caller!r}'s "
                      f"{mine}; lanes.{caller}.delegate_wider does not name {target!r}")
    untrusted = pos.untrusted or cfg.lanes[caller].input == "untrusted"
    if untrusted:
        below = _below_orchestrator(cfg, probe)
        if below:
            why = ("the caller said so or a hop above was untrusted" if pos.untrusted
                   else f"lane {caller!r} takes untrusted input")
            raise Refused("untrusted-input", f"the task is untrusted ({why}) and {target!r} "
                          f"is not orchestrator tier or above: {below}")
    if theirs in WRITABLE_FENCES:
        cheap = _cheap_models(cfg, probe)
        if cheap:
            raise Refused("writable-cheap", f"{target!r} can write ({theirs}) and its model "
                          f"chain has {', '.join(cheap)}: writable work never goes to a local "
                          "or cheap model")
    if tool == "delegate" and _is_escalation(cfg, probe):
        raise Refused("escalation-for-judgment", f"{target!r} is an escalation lane; escalation "
                      "is for judgment, not labour: use the `review` tool")
    return untrusted


def check_budget(turns: int, tokens: int, limits: Limits) -> None:
    """Raise Refused when a run has used its turns or its tokens."""
    if turns >= limits.max_turns:
        raise Refused("budget-turns", f"this run has used its {limits.max_turns} turns")
    if tokens >= limits.max_tokens:
        raise Refused("budget-tokens", f"this run has used {tokens} of its "
                      f"{limits.max_tokens} tokens")
