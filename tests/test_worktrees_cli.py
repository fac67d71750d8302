"""`laneboard lanes diff|merge|discard` and a real command lane writing in its worktree.

A real repository, a real command lane started by the real CLI in real tmux (private
socket): the lane's files land in `<repo>/.laneboard/worktrees/<lane>` while the main tree
stays untouched; the diff JSON names them; a clean merge lands them; a conflicting merge
and a discard of unmerged work are exit 1 with both trees unchanged; `--force` needs
`--yes-delete-work` without a terminal and leaves a patch `git apply` restores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.gitrepo import commit_all, git, make_repo, snapshot

pytestmark = pytest.mark.tmux

CONFIG = """\
version: 1
tmux: {{socket: {socket}, session: lbwt}}
lanes:
  writer:
    role: coder
    harness: command
    fence: workspace-write
    command: [{python}, -u, -c, "import os, sys; open('lane.txt', 'w').write('from the lane\\\\n'); print('READY>', flush=True); sys.stdin.read()"]
    ready: "READY>"
  reader:
    role: helper
    harness: command
    command: [{python}, -u, -c, "import sys; print('READY>', flush=True); sys.stdin.read()"]
"""


@pytest.fixture
def setup(tmp_path: Path, tmux_socket: str) -> tuple[Path, dict[str, str]]:
    repo = make_repo(tmp_path)
    (tmp_path / "laneboard.yaml").write_text(CONFIG.format(socket=tmux_socket,
                                                           python=sys.executable))
    env = {**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
           "LANEBOARD_TMUX_SOCKET": tmux_socket}
    env.pop("LANEBOARD_CONFIG", None)
    return repo, env


def lb(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard", *args, "--config", str(repo.parent / "laneboard.yaml")],
        capture_output=True, text=True, env=env, cwd=repo, timeout=120, stdin=subprocess.DEVNULL,
        check=False)


def test_command_lane_writes_in_its_worktree(setup: tuple[Path, dict[str, str]]) -> None:
    repo, env = setup
    try:
        started = lb(repo, env, "lanes", "start", "writer", "--json")
        assert started.returncode == 0, started.stderr
        assert json.loads(started.stdout)["lanes"][0]["state"] == "ready"
        wt = repo / ".laneboard" / "worktrees" / "writer"
        assert (wt / "lane.txt").read_text() == "from the lane\n"
        assert not (repo / "lane.txt").exists()
        assert git(repo, "status", "--porcelain") == ""  # the main tree never saw it
        assert lb(repo, env, "lanes", "start", "reader").returncode == 0
        assert not (repo / ".laneboard" / "worktrees" / "reader").exists()  # read-only: none

        shown = lb(repo, env, "lanes", "diff", "writer", "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == {
            "lane": "writer", "branch": "lb/writer", "base": "main", "worktree": str(wt),
            "files": [{"path": "lane.txt", "status": "A", "added": 1, "removed": 0}]}

        refused = lb(repo, env, "lanes", "discard", "writer")
        assert refused.returncode == 1 and "lane.txt" in refused.stderr
        assert "Traceback" not in refused.stderr and (wt / "lane.txt").exists()

        commit_all(wt, "lane work")
        merged = lb(repo, env, "lanes", "merge", "writer", "--json")
        assert merged.returncode == 0, merged.stderr
        assert json.loads(merged.stdout)["merged"] is True
        assert (repo / "lane.txt").read_text() == "from the lane\n"
    finally:
        lb(repo, env, "lanes", "stop", "--all")
    stopped_wt = repo / ".laneboard" / "worktrees" / "writer"
    assert stopped_wt.is_dir()  # stopping lanes never deletes a worktree


def test_conflict_and_forced_discard_via_cli(setup: tuple[Path, dict[str, str]]) -> None:
    from laneboard.lanes import worktrees

    repo, env = setup
    wt = worktrees.ensure(repo, "writer").path
    (wt / "README.md").write_text("lane\n")
    commit_all(wt, "lane")
    (repo / "README.md").write_text("main\n")
    commit_all(repo, "main")
    before = (snapshot(repo), snapshot(wt))
    conflict = lb(repo, env, "lanes", "merge", "writer")
    assert conflict.returncode == 1 and "conflicts in README.md" in conflict.stderr
    assert (snapshot(repo), snapshot(wt)) == before

    unconfirmed = lb(repo, env, "lanes", "discard", "writer", "--force")
    assert unconfirmed.returncode == 2 and "--yes-delete-work" in unconfirmed.stderr
    assert (snapshot(repo), snapshot(wt)) == before

    bad = lb(repo, env, "lanes", "diff", "../x")
    assert bad.returncode == 2 and "is not a lane name" in bad.stderr

    gone = lb(repo, env, "lanes", "discard", "writer", "--force", "--yes-delete-work", "--json")
    assert gone.returncode == 0, gone.stderr
    doc = json.loads(gone.stdout)
    assert not wt.exists()
    git(repo, "checkout", "-q", "HEAD~1")  # the lane's base
    git(repo, "apply", doc["saved"]["patch"])
    assert (repo / "README.md").read_text() == "lane\n"
