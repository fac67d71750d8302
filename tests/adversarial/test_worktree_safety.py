"""Attacks on the promise "no work is ever deleted by accident" (laneboard.lanes.worktrees).

Each test tries to make laneboard create, replace or remove something it must not: lane
names that are paths or options (`../x`, `-rf`), a base that git would parse as an option,
a symlink planted where laneboard's worktree directory goes, a discard of unpushed
commits, a conflicting merge, a dirty main tree, and two laneboard processes adding the
same worktree at once. Real git repositories, real processes; nothing is mocked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.errors import UsageError
from laneboard.lanes import worktrees
from tests.fixtures.gitrepo import commit_all, git, make_repo, snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.mark.parametrize("name", ["../x", "-rf", "a/b", "..", "--force", "lb/x", "", "X"])
def test_lane_names_that_are_paths_or_options(repo: Path, tmp_path: Path, name: str) -> None:
    before = snapshot(repo)
    for op in (lambda: worktrees.ensure(repo, name), lambda: worktrees.diff(repo, name),
               lambda: worktrees.merge(repo, name), lambda: worktrees.discard(repo, name)):
        with pytest.raises(UsageError, match="is not a lane name"):
            op()
    assert snapshot(repo) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # nothing made beside it
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


@pytest.mark.parametrize("base", ["--upload-pack=touch /tmp/pwned", "-b", "--orphan", "main\nx"])
def test_base_shaped_like_an_option(repo: Path, base: str) -> None:
    with pytest.raises(UsageError, match="is not a branch, tag or commit name"):
        worktrees.ensure(repo, "coder", base=base)
    assert git(repo, "branch", "--list", "lb/*") == ""
    assert not (repo / ".laneboard" / "worktrees" / "coder").exists()


def test_branch_named_like_an_option_stays_a_name(repo: Path) -> None:
    """A base branch literally named `-x` (git allows it via refs/heads) is not an option."""
    git(repo, "update-ref", "refs/heads/-x", "HEAD")
    with pytest.raises(UsageError):
        worktrees.ensure(repo, "coder", base="-x")
    wt = worktrees.ensure(repo, "coder", base="refs/heads/-x")
    assert wt.path.is_dir()


def test_symlink_planted_in_the_worktree_dir(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me\n")
    (repo / ".laneboard").mkdir()
    (repo / ".laneboard" / "worktrees").symlink_to(elsewhere)
    with pytest.raises(worktrees.WorktreeError, match="not a plain directory"):
        worktrees.ensure(repo, "coder")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.txt"]
    (repo / ".laneboard" / "worktrees").unlink()
    (repo / ".laneboard" / "worktrees").mkdir()
    (repo / ".laneboard" / "worktrees" / "coder").symlink_to(elsewhere)
    with pytest.raises(worktrees.WorktreeError, match=r"not lane 'coder'.s git worktree"):
        worktrees.ensure(repo, "coder")
    with pytest.raises(worktrees.WorktreeError, match="has no worktree"):
        worktrees.discard(repo, "coder", force=True)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.txt"]


def test_leftover_directory_is_not_cleared(repo: Path) -> None:
    leftover = repo / ".laneboard" / "worktrees" / "coder"
    leftover.mkdir(parents=True)
    (leftover / "notes.txt").write_text("someone's notes\n")
    with pytest.raises(worktrees.WorktreeError, match="will not replace it"):
        worktrees.ensure(repo, "coder")
    assert (leftover / "notes.txt").read_text() == "someone's notes\n"


def test_discard_with_unpushed_commits_is_refused(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    tips = []
    for i in range(3):
        (wt.path / f"f{i}.txt").write_text(f"{i}\n")
        tips.append(commit_all(wt.path, f"work {i}"))
    with pytest.raises(worktrees.WorkAtRisk, match="3 commit") as refused:
        worktrees.discard(repo, "coder")
    assert "laneboard lanes merge coder" in str(refused.value)
    for tip in tips:  # every commit still reachable from the lane branch
        git(repo, "merge-base", "--is-ancestor", tip, "lb/coder")
    assert wt.path.is_dir()


def test_discard_after_squash_merge_is_allowed(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "f.txt").write_text("f\n")
    commit_all(wt.path, "f")
    worktrees.merge(repo, "coder", squash=True)
    assert worktrees.discard(repo, "coder")["removed"] is True


def test_conflicting_merge_changes_nothing(repo: Path) -> None:
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "README.md").write_text("lane\n")
    commit_all(wt.path, "lane")
    (repo / "README.md").write_text("main\n")
    commit_all(repo, "main")
    (wt.path / ".env").write_text("untracked, ignored or not\n")
    git(wt.path, "add", "-N", ".env")
    before = (snapshot(repo), snapshot(wt.path))
    with pytest.raises(worktrees.MergeRefused):
        worktrees.merge(repo, "coder")
    assert (snapshot(repo), snapshot(wt.path)) == before


def test_dirty_main_tree_staged_only(repo: Path) -> None:
    """A change staged but identical in the working tree still counts as dirty."""
    wt = worktrees.ensure(repo, "coder")
    (wt.path / "a.txt").write_text("a\n")
    commit_all(wt.path, "a")
    (repo / "staged.txt").write_text("s\n")
    git(repo, "add", "staged.txt")
    before = snapshot(repo)
    with pytest.raises(worktrees.MergeRefused, match=r"staged\.txt"):
        worktrees.merge(repo, "coder")
    assert snapshot(repo) == before


_ADD = """
import sys
from pathlib import Path
from laneboard.lanes import worktrees
sys.stdin.readline()  # both processes wait here, then race
wt = worktrees.ensure(Path(sys.argv[1]), "coder")
print("created" if wt.created else "reused", wt.path, flush=True)
"""


def test_two_processes_add_the_same_worktree(repo: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _ADD, str(repo)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    words = sorted(o.split()[0] for o, _ in outs)
    assert words == ["created", "reused"]
    assert len({o.split()[1] for o, _ in outs}) == 1
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2
