"""Preflight's worktree checks on a real git repository: git present, a `base:` that names no
commit fails, and a worktree whose lane left the config is listed (and left alone)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from laneboard.lanes import worktrees


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def repo_with_commit(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty",
        "-m", "start")
    return repo


def config(repo: Path, lanes: str) -> Path:
    cfg = repo.parent / "cfg.yaml"
    cfg.write_text(f"version: 1\nlanes:\n{lanes}")
    return cfg


LANE = """  {name}:
    role: coder
    harness: command
    command: [sh]
    fence: workspace-write
{extra}"""


def preflight(cfg: Path, repo: Path) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "laneboard", "preflight", "--config", str(cfg), "--offline",
         "--json"], cwd=repo, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return [c for c in json.loads(done.stdout)["checks"] if c["id"].startswith("worktree.")]


def test_a_stale_worktree_is_listed_and_kept(tmp_path: Path) -> None:
    repo = repo_with_commit(tmp_path)
    old = worktrees.ensure(repo, "gone")
    (old.path / "work.txt").write_text("unsaved work")
    cfg = config(repo, LANE.format(name="coder", extra=""))
    checks = preflight(cfg, repo)
    stale = [c for c in checks if c["id"] == "worktree.stale" and c["status"] == "warn"]
    assert len(stale) == 1 and "'gone'" in stale[0]["message"], checks
    assert "laneboard lanes discard gone" in stale[0]["fix"]
    assert (old.path / "work.txt").read_text() == "unsaved work"  # listed, not deleted


def test_a_base_that_names_no_commit_fails(tmp_path: Path) -> None:
    repo = repo_with_commit(tmp_path)
    cfg = config(repo, LANE.format(name="coder", extra="    base: no-such-branch\n"))
    checks = preflight(cfg, repo)
    assert [c["status"] for c in checks if c["id"] == "worktree.base"] == ["fail"], checks
    ok = config(repo, LANE.format(name="coder", extra="    base: main\n"))
    assert not [c for c in preflight(ok, repo) if c["status"] == "fail"]


def test_no_writable_lane_no_worktree_checks(tmp_path: Path) -> None:
    repo = repo_with_commit(tmp_path)
    cfg = config(repo, LANE.format(name="coder", extra="").replace("workspace-write", "read-only"))
    assert preflight(cfg, repo) == []
