"""What the lane side of a review needs besides the prompt: a supervisor to send it
through, and the paths a tree snapshot must ignore.

Why a module of its own: both the one-step review (`lanes.review`) and the ladder
(`lanes.review_ladder`) send through a supervisor and check that the reviewer left the
working tree as it was; these are the parts they share.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from laneboard.config import Config, LoadedConfig
    from laneboard.lanes.supervisor import Supervisor

#: Builds the supervisor a review sends through (tests and the cockpit pass their own).
SupervisorFactory = Callable[["LoadedConfig", Path], "Supervisor"]


def default_supervisor(loaded: LoadedConfig, workspace: Path) -> Supervisor:
    """A supervisor of its own for one review, on the repository as its workspace; the
    review closes it when done (the cockpit lends its running one instead)."""
    from laneboard.lanes.supervisor import Supervisor

    return Supervisor(loaded, workspace=workspace)


def snapshot_excludes(repo: Path, cfg: Config, lane: str, store_root: Path) -> tuple[str, ...]:
    """Paths inside the tree that change for reasons other than the reviewer: the artifact
    store (this and concurrent reviews write there) and the lane's own config dir."""
    candidates = [store_root]
    cfg_dir = cfg.lanes[lane].env.get("CLAUDE_CONFIG_DIR")
    if cfg_dir:
        candidates.append(Path(cfg_dir).expanduser())
    out: list[str] = []
    for c in candidates:
        try:
            out.append(c.resolve().relative_to(repo.resolve()).as_posix())
        except ValueError:
            continue
    return tuple(out)
