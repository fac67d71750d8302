"""From config to harness: a lane's model candidates and the HarnessSpec that runs them.

The supervisor asks here, never the harnesses: harnesses see only a resolved `HarnessSpec`
(provider-side model id, fence, deny list, environment), so they know nothing of aliases,
tiers or routing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from laneboard.config import WRITABLE_FENCES, Config
from laneboard.harnesses.base import HarnessSpec
from laneboard.lanes.refs import Cooldowns, ResolvedModel, lane_chain

Candidate = ResolvedModel

__all__ = ["Candidate", "Cooldowns", "build_spec", "lane_candidates"]


def lane_candidates(cfg: Config, lane_id: str, explicit: str | None = None) -> list[Candidate]:
    """The models a lane tries, in order; an explicit choice is the only candidate (strict)."""
    return lane_chain(cfg, lane_id, explicit=explicit)


def build_spec(
    cfg: Config,
    lane_id: str,
    model: Candidate | None,
    fallbacks: Sequence[Candidate],
    workspace: Path,
    *,
    conductor: tuple[str, str] | None = None,
) -> HarnessSpec:
    """The HarnessSpec for running `lane_id` on `model` (None for command lanes).

    `conductor` is (control socket, lane token) when the lane may delegate: its agent CLI
    is then given laneboard's MCP server (see `laneboard.harnesses.mcp_attach`)."""
    lane = cfg.lanes[lane_id]
    provider_id = lane.provider or (model.provider if model else None)
    provider = cfg.providers.get(provider_id) if provider_id else None
    cwd = (workspace / lane.cwd).resolve() if lane.cwd else workspace
    from laneboard.lanes.worktrees import lane_cwd  # a writable lane runs in its worktree

    cwd = lane_cwd(lane_id, cwd, writable=lane.fence in WRITABLE_FENCES,
                   worktree=lane.worktree, base=lane.base, host=lane.host)
    same_provider = [c.provider_id for c in fallbacks if model and c.provider == model.provider]
    return HarnessSpec(
        lane=lane_id,
        harness=lane.harness,
        mode=lane.mode,
        model=model.provider_id if model else None,
        provider=provider_id,
        fallback_models=tuple(same_provider),
        thinking=(model.params.thinking if model else None),
        fence=lane.fence,
        deny=tuple(cfg.fences.deny),
        cwd=str(cwd),
        env=dict(lane.env),
        base_url=provider.base_url if provider else None,
        api_key_env=provider.api_key_env if provider else None,
        command=tuple(lane.command or ()),
        ready_pattern=lane.ready,
        busy_pattern=lane.busy,
        context_window=model.context_window if model else None,
        temperature=model.params.temperature if model else None,
        max_output_tokens=model.params.max_output_tokens if model else None,
        kind=model.kind if model else "chat",
        tree_ignore=(str((workspace / cfg.artifacts.dir).resolve()),),
        control_socket=conductor[0] if conductor else None,
        lane_token=conductor[1] if conductor else None,
    )
