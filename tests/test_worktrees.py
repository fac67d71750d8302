"""laneboard.lanes.worktrees on real git repositories: add/reuse, .worktreeinclude, diff,
merge (clean, squash, conflicting: both trees unchanged), discard (refused on dirty and on
unmerged work; --force leaves a patch `git apply` restores and a bundle with the commits),
and a laneboard SIGKILLed at each step of a merge leaving a consistent repository.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.lanes import worktrees
from tests.fixtures.gitrepo import commit_all, git, make_repo, snapshot


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def test_add_then_reuse_keeps_work(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    assert wt.created and wt.path == repo / ".laneboard" / "worktrees" / "coder"
    assert wt.branch == "lb/coder" and wt.base == "main"
    assert git(wt.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "lb/coder"
    (wt.path / "work.txt").write_text("unsaved work\n")
    again = worktrees.ensure(repo, "coder")
    assert not again.created and again.path == wt.path
    assert (wt.path / "work.txt").read_text() == "unsaved work\n"
    # the owned directory is excluded through info/exclude; .gitignore is never written
    assert "/.laneboard/" in (repo / ".git" / "info" / "exclude").read_text()
    assert not (repo / ".gitignore").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_base_option_and_bad_base(repo: Path) -> None:
    git(repo, "branch", "release")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "f.txt").write_text("feature\n")
    commit_all(repo, "feature")
    wt = worktrees.ensure(repo, "coder", base="release")
    assert wt.base == "release" and not (wt.path / "f.txt").exists()
    with pytest.raises(worktrees.WorktreeError, match="does not name a commit"):
        worktrees.ensure(repo, "other", base="no-such-branch")


def test_worktreeinclude_copies_ignored_files_only(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\nbuild/\n*.log\n")
    (repo / ".worktreeinclude").write_text(".env\nconfig/local.toml\n")
    commit_all(repo, "ignore rules")
    (repo / ".env").write_text("TOKEN=dev\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("big\n")
    (repo / "debug.log").write_text("noise\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.toml").write_text("not ignored, so not copied\n")
    wt = worktrees.ensure(repo, "coder")
    assert (wt.path / ".env").read_text() == "TOKEN=dev\n"
    assert not (wt.path / "build").exists() and not (wt.path / "debug.log").exists()
    assert not (wt.path / "config" / "local.toml").exists()


def test_diff_lists_committed_and_uncommitted(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "src" / "app.py").write_text("x = 2\ny = 3\n")
    commit_all(wt.path, "change app")
    (wt.path / "README.md").unlink()
    (wt.path / "new.py").write_text("a\nb\n")
    doc = worktrees.diff(repo, "coder")
    assert doc["lane"] == "coder" and doc["branch"] == "lb/coder" and doc["base"] == "main"
    assert doc["worktree"] == str(wt.path)
    assert doc["files"] == [
        {"path": "README.md", "status": "D", "added": 0, "removed": 1},
        {"path": "new.py", "status": "A", "added": 2, "removed": 0},
        {"path": "src/app.py", "status": "M", "added": 2, "removed": 1},
    ]
    assert "+y = 3" in worktrees.file_patch(repo, "coder", "src/app.py")
    assert "+b" in worktrees.file_patch(repo, "coder", "new.py")
    assert git(repo, "status", "--porcelain") == ""  # the main tree never saw any of it


@pytest.mark.parametrize("squash", [False, True])
def test_clean_merge(repo: Path, squash: bool) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "feature.py").write_text("done = True\n")
    tip = commit_all(wt.path, "feature")
    result = worktrees.merge(repo, "coder", squash=squash)
    assert result["merged"] is True
    assert (repo / "feature.py").read_text() == "done = True\n"
    parents = git(repo, "rev-list", "--parents", "-n", "1", "HEAD").split()
    assert (tip in parents) is (not squash)
    assert git(repo, "status", "--porcelain") == ""
    assert worktrees.merge(repo, "coder")["merged"] is False  # nothing left to merge


def test_conflicting_merge_leaves_both_trees(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "src" / "app.py").write_text("x = 'lane'\n")
    commit_all(wt.path, "lane edit")
    (repo / "src" / "app.py").write_text("x = 'main'\n")
    commit_all(repo, "main edit")
    before = (snapshot(repo), snapshot(wt.path))
    with pytest.raises(worktrees.MergeRefused, match=r"conflicts in src/app\.py"):
        worktrees.merge(repo, "coder")
    assert (snapshot(repo), snapshot(wt.path)) == before
    assert not (repo / ".git" / "MERGE_HEAD").exists()


def test_merge_refuses_dirty_trees_and_wrong_branch(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "a.txt").write_text("a\n")
    commit_all(wt.path, "a")
    (repo / "README.md").write_text("edited, not committed\n")
    before = (snapshot(repo), snapshot(wt.path))
    with pytest.raises(worktrees.MergeRefused, match=r"main tree .* uncommitted changes"):
        worktrees.merge(repo, "coder")
    assert (snapshot(repo), snapshot(wt.path)) == before
    git(repo, "checkout", "-q", "--", "README.md")
    (wt.path / "b.txt").write_text("not committed in the lane\n")
    with pytest.raises(worktrees.MergeRefused, match=r"worktree .* uncommitted changes"):
        worktrees.merge(repo, "coder")
    (wt.path / "b.txt").unlink()
    git(repo, "checkout", "-q", "-b", "elsewhere")
    with pytest.raises(worktrees.MergeRefused, match="main tree is on elsewhere"):
        worktrees.merge(repo, "coder")


def test_discard_clean_removes(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    result = worktrees.discard(repo, "coder")
    assert result["removed"] is True and not wt.path.exists()
    assert git(repo, "branch", "--list", "lb/coder") == ""


def test_discard_refused_on_dirty_and_unmerged(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "draft.txt").write_text("draft\n")
    with pytest.raises(worktrees.WorkAtRisk, match=r"1 uncommitted file.*draft\.txt"):
        worktrees.discard(repo, "coder")
    assert (wt.path / "draft.txt").exists()
    tip = commit_all(wt.path, "unmerged work")
    with pytest.raises(worktrees.WorkAtRisk, match="1 commit\\(s\\) not in main"):
        worktrees.discard(repo, "coder")
    assert git(repo, "rev-parse", "lb/coder").strip() == tip and wt.path.is_dir()


def test_forced_discard_saves_a_patch_git_apply_restores(repo: Path, tmp_path: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "src" / "app.py").write_text("x = 42\n")
    commit_all(wt.path, "committed")
    (wt.path / "loose.txt").write_text("uncommitted\n")
    result = worktrees.discard(repo, "coder", force=True)
    saved = result["saved"]
    assert isinstance(saved, dict) and not wt.path.exists()
    patch = Path(saved["patch"])
    assert oct(patch.stat().st_mode & 0o777) == "0o600"
    git(repo, "apply", "--check", str(patch))
    git(repo, "apply", str(patch))
    assert (repo / "src" / "app.py").read_text() == "x = 42\n"
    assert (repo / "loose.txt").read_text() == "uncommitted\n"
    git(repo, "bundle", "verify", saved["bundle"])


def test_preflight_list_of_lane_worktrees(repo: Path) -> None:
    worktrees.ensure(repo, "coder")
    worktrees.ensure(repo, "coder-2")
    assert set(worktrees.lane_worktrees(repo)) == {"coder", "coder-2"}


_KILLER = """
import os, signal, sys
from pathlib import Path
from laneboard.lanes import worktrees
target = sys.argv[2]
def step(name):
    if name == target:
        os.kill(os.getpid(), signal.SIGKILL)
worktrees.merge(Path(sys.argv[1]), "coder", on_step=step)
"""


@pytest.mark.parametrize("step", ["merge-tree", "commit-tree", "fast-forward"])
def test_sigkill_at_each_merge_step_leaves_repo_consistent(repo: Path, step: str) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "feature.py").write_text("ok\n")
    commit_all(wt.path, "feature")
    before = snapshot(repo)
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(repo), step], capture_output=True,
                          timeout=120, check=False, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert snapshot(repo) == before  # killed before the step ran: nothing half-done
    fsck = subprocess.run(["git", "-C", str(repo), "fsck", "--no-dangling"], capture_output=True,
                          text=True, check=False, timeout=120)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert not (repo / ".git" / "index.lock").exists()
    assert worktrees.merge(repo, "coder")["merged"] is True  # and a retry completes
    assert (repo / "feature.py").read_text() == "ok\n"
    assert os.path.isdir(wt.path)
