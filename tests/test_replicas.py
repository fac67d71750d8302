"""Parallel coders: `lanes.coder.replicas: 2` runs coder-1 and coder-2, each in its own worktree.

Real git, real tmux (private socket), two real command-lane replicas: two sends to the
group at once go to two different idle replicas, both write the SAME file name at the
same time (each turn stays open until the test has seen BOTH files, so a serialised run
never gets there), and each worktree holds only its own replica's text while the main tree
stays untouched; the bubblewrap sandbox of one replica does not even see the other's tree. The router knows the group (rules) and each replica (`@coder-2`); a replica id
that shadows another lane is a config error.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.config.replicas import expand, groups, replica_ids
from laneboard.errors import ConfigError, LaneError
from laneboard.lanes.router import Router
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.gitrepo import git, make_repo
from tests.fixtures.tmux import async_wait_until

# Each replica writes shared.txt in its cwd (its worktree) and stays busy (no ready prompt)
# until it reads "go": the test sees both files while both turns are still running.
LANE = """\
import os, sys
name = os.path.basename(os.getcwd())
print("READY>", flush=True)
for line in sys.stdin:
    if line.strip() == "go":
        print("READY>", flush=True)
        continue
    with open("shared.txt", "w") as f:
        f.write(name + ": " + line)
    print(name + " wrote shared.txt", flush=True)
"""

CONFIG = """\
version: 1
lanes:
  main:
    role: helper
    harness: command
    command: [{py}, -u, -c, "import sys; print('READY>', flush=True); sys.stdin.read()"]
  coder:
    role: coder
    harness: command
    fence: workspace-write
    replicas: 2
    command: [{py}, -u, {script}]
    ready: "READY>\\\\z"
routing:
  default: main
  rules:
    - {{name: build, lane: coder, match: {{prefix: "build"}}}}
"""


def go(socket: str, lane: str) -> None:
    """Type `go` into the lane's pane directly (the lane's send queue is busy with the turn)."""
    subprocess.run(["tmux", "-L", socket, "send-keys", "-t", lane, "go", "Enter"], check=True,
                   timeout=30)


def config_bytes(tmp: Path) -> bytes:
    script = tmp / "replica.py"
    script.write_text(LANE)
    return CONFIG.format(py=sys.executable, script=script).encode()


def test_expand_and_router_know_group_and_replicas(tmp_path: Path) -> None:
    loaded = parse_config(config_bytes(tmp_path), "cfg.yaml")
    assert replica_ids("coder", 1) == ["coder"]
    assert groups(loaded.config) == {"coder": ["coder-1", "coder-2"]}
    assert list(expand(loaded.config).lanes) == ["main", "coder-1", "coder-2"]
    router = Router(loaded.config)
    assert router.route("build the parser").lane == "coder"  # the group: any idle replica
    assert router.route("@coder-2 build it").lane == "coder-2"
    assert router.to_lane("coder-1", "x").fence == "workspace-write"


def test_replica_id_shadowing_a_lane_is_a_config_error(tmp_path: Path) -> None:
    bad = config_bytes(tmp_path).decode().replace("routing:", """\
  coder-2:
    role: helper
    harness: command
    command: [sh]
routing:""")
    with pytest.raises(ConfigError) as err:
        parse_config(bad.encode(), "cfg.yaml")
    assert "'coder-2' is also a lane id" in str(err.value)
    no_tree = config_bytes(tmp_path).decode().replace("replicas: 2", "replicas: 2\n    worktree: false")
    with pytest.raises(ConfigError, match="replicas need their own worktrees"):
        parse_config(no_tree.encode(), "cfg.yaml")


@pytest.mark.tmux
@pytest.mark.slow
async def test_two_replicas_write_the_same_file_in_parallel(
        tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    repo = make_repo(tmp_path)
    loaded = parse_config(config_bytes(tmp_path), "cfg.yaml")
    sup = Supervisor(loaded, workspace=repo)
    assert list(sup.lanes) == ["main", "coder-1", "coder-2"]
    try:
        await sup.start(["coder-1", "coder-2"])
        trees = repo / ".laneboard" / "worktrees"
        sends = [asyncio.ensure_future(sup.send("coder", text, timeout=60))
                 for text in ("first", "second")]
        both = [trees / n / "shared.txt" for n in ("coder-1", "coder-2")]
        await async_wait_until(lambda: all(p.exists() for p in both), timeout=30)
        assert not any(task.done() for task in sends)  # both turns at once: in parallel
        for lane in ("coder-1", "coder-2"):
            go(tmux_socket, lane)
        results = await asyncio.gather(*sends)
        replies = "".join(r.reply for r in results)
        assert "coder-1 wrote" in replies and "coder-2 wrote" in replies
        texts = {n: (trees / n / "shared.txt").read_text() for n in ("coder-1", "coder-2")}
        assert texts["coder-1"].startswith("coder-1: ") and texts["coder-2"].startswith("coder-2: ")
        assert {t.split(": ", 1)[1].strip() for t in texts.values()} == {"first", "second"}
        assert not (repo / "shared.txt").exists()
        assert git(repo, "status", "--porcelain") == ""  # the main tree never saw them
        branches = git(repo, "branch", "--list", "lb/*", "--format=%(refname:short)").split()
        assert branches == ["lb/coder-1", "lb/coder-2"]

        named = asyncio.ensure_future(sup.send("coder-2", "third", timeout=60))  # one replica
        await async_wait_until(
            lambda: (trees / "coder-2" / "shared.txt").read_text() == "coder-2: third\n",
            timeout=30)
        go(tmux_socket, "coder-2")
        assert "coder-2 wrote" in (await named).reply
        assert texts["coder-1"] == (trees / "coder-1" / "shared.txt").read_text()
        with pytest.raises(LaneError, match="group of replicas"):
            sup.lane("coder")
    finally:
        await sup.stop_all()
        await sup.close()
    assert (repo / ".laneboard" / "worktrees" / "coder-1").is_dir()  # stop never deletes
