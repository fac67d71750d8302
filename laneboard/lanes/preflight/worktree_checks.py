"""Preflight's worktree checks: git is there, every `base:` exists, and no stale worktree.

Why they matter: a writable lane in a git repository runs in its own worktree
(`laneboard.lanes.worktrees`). Without git, or with a `base:` that names no commit, the lane
fails at start; a worktree whose lane is gone from the config still holds that lane's work,
and laneboard never deletes work on its own — so preflight lists it, with the command that
shows what it holds and the one that removes it safely. Nothing here changes a repository.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from laneboard.core.vocabulary import WRITABLE_FENCES
from laneboard.lanes.preflight.report import Check

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig


def _lanes_with_worktrees(loaded: LoadedConfig, workspace: Path) -> dict[str, tuple[Path, str | None]]:
    """Configured lane id (replicas expanded) → (its cwd, its `base:`) for every lane that
    runs in a worktree by its settings."""
    from laneboard.config.replicas import replica_ids

    out: dict[str, tuple[Path, str | None]] = {}
    for lane_id, lane in loaded.config.lanes.items():
        if lane.worktree is False or (lane.worktree is None and lane.fence not in WRITABLE_FENCES):
            continue
        if lane.host is not None:
            continue  # its cwd is on its host, where laneboard makes no worktree (host.cwd)
        cwd = (workspace / lane.cwd).resolve() if lane.cwd else workspace.resolve()
        for rid in replica_ids(lane_id, lane.replicas):
            out[rid] = (cwd, lane.base)
    return out


def _commit_exists(repo: Path, ref: str) -> bool:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"{ref}^{{commit}}"], cwd=repo, capture_output=True, check=False)
    return done.returncode == 0


def worktree_checks(loaded: LoadedConfig, workspace: Path) -> list[Check]:
    """git present, `base:` refs that exist, and stale lane worktrees (listed, never deleted)."""
    from laneboard.lanes.worktrees import lane_worktrees, repo_root

    wanted = _lanes_with_worktrees(loaded, workspace)
    if not wanted:
        return []
    if shutil.which("git") is None:
        return [Check("worktree.git", "fail", "git", "writable lanes run in git worktrees, "
                      "but git is not on PATH", "install git (Debian: apt-get install git)")]
    checks: list[Check] = []
    repos: dict[Path, set[str]] = {}
    for lane_id, (cwd, base) in wanted.items():
        repo = repo_root(cwd)
        if repo is None:
            continue  # not a repository: the lane runs in its cwd
        repos.setdefault(repo, set()).add(lane_id)
        if base is not None and not _commit_exists(repo, base):
            checks.append(Check("worktree.base", "fail", f"lanes.{lane_id}.base",
                                f"{base!r} names no commit in {repo}",
                                "name an existing branch or commit, or drop `base:`"))
    for repo, lanes in sorted(repos.items()):
        stale = {lane: path for lane, path in lane_worktrees(repo).items() if lane not in lanes}
        for lane, path in sorted(stale.items()):
            checks.append(Check(
                "worktree.stale", "warn", str(path),
                f"lane {lane!r} is no longer configured, but its worktree (branch lb/{lane}) is "
                "still here; it may hold work, so laneboard leaves it",
                f"see what it holds: laneboard lanes diff {lane}; remove it safely: "
                f"laneboard lanes discard {lane}",
            ))
        if not stale:
            checks.append(Check("worktree.stale", "ok", str(repo),
                                f"{len(lanes)} lane worktree(s) configured, none stale"))
    return checks
