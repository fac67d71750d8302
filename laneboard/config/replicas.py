"""Parallel coders: `lanes.<id>.replicas: N` becomes the runtime lanes `<id>-1` … `<id>-N`.

Why the config keeps the group and only the runtime expands it: routing rules, `delegates`
and the conductor name *the group* (`coder`: any idle replica), and every cross-check of
the config (routing names a lane, delegates name a lane) stays about what the person
wrote. The supervisor runs the replicas — each its own `LaneRuntime`, tmux window,
worktree (`lb/coder-2`) and state — from `expand(cfg)`, a copy of the config whose lanes
are the replicas; the router knows both names (`@coder-2` picks one replica).

A group of one (`replicas: 1`, the default) is not a group: the lane keeps its id.
"""

from __future__ import annotations

from laneboard.config.models import Config

__all__ = ["expand", "group_of", "groups", "replica_ids"]


def replica_ids(lane_id: str, replicas: int) -> list[str]:
    """`coder-1` … `coder-N`; `[lane_id]` itself when there is one copy."""
    if replicas <= 1:
        return [lane_id]
    return [f"{lane_id}-{n}" for n in range(1, replicas + 1)]


def groups(cfg: Config) -> dict[str, list[str]]:
    """Group id → its replica ids, for every lane with `replicas` > 1 (of the *written* config)."""
    return {lane_id: replica_ids(lane_id, lane.replicas)
            for lane_id, lane in cfg.lanes.items() if lane.replicas > 1}


def group_of(cfg: Config, lane_id: str) -> str | None:
    """The group a runtime lane id belongs to (`coder-2` → `coder`), or None."""
    for group, ids in groups(cfg).items():
        if lane_id in ids:
            return group
    return None


def expand(cfg: Config) -> Config:
    """`cfg` with each replicated lane replaced by its replicas, in place of order.

    Each replica is the group's LaneConfig with `replicas: 1`. A config without replicas
    is returned as it is (the same object: nothing to copy). Routing and delegates still
    name the group; the supervisor resolves a group to one replica at send time.
    """
    if not any(lane.replicas > 1 for lane in cfg.lanes.values()):
        return cfg
    lanes = {}
    for lane_id, lane in cfg.lanes.items():
        if lane.replicas <= 1:
            lanes[lane_id] = lane
            continue
        one = lane.model_copy(update={"replicas": 1})
        for rid in replica_ids(lane_id, lane.replicas):
            lanes[rid] = one
    return cfg.model_copy(update={"lanes": lanes})
