"""Writable lanes on another host and worktrees (issue 17 with the worktree rules).

A writable lane in a git repository works in its own worktree — here. For a lane with
`host:` that local path does not exist on the host, and laneboard can neither show nor
merge a worktree made there, so it makes none and refuses the lane with the reason and
the fix (`worktree: false`, or a `cwd:` on the host outside a repository). It never
silently runs the lane somewhere else.

Real parts: a real sshd on 127.0.0.1 is the host (this machine), real git repositories,
the real supervisor and the host's tmux (a command lane running the echo REPL).

What they hold:
- writable remote lane, cwd a git repo (with a commit) on the host, worktree by default:
  refused at start (state failed, the error names the repository and both fixes); no
  `.laneboard/worktrees` and no `lb/<lane>` branch appear in the repository, no window;
- `worktree: true` or `replicas:` on a remote lane: a config error naming file:line and
  the field (it could never start);
- `worktree: false`: the lane starts and runs in that directory on the host (its pane's
  cwd is the repository itself), the repository gets no worktree;
- a cwd that does not exist on the host: refused, naming the path and the host;
- a plan lane (not writable) in the repository: starts, no worktree;
- preflight's host.cwd says all of it before a start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.config import load_config, parse_config
from laneboard.lanes.preflight.hosts import host_checks
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.test_remote_supervisor import remote_env  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.tmux]


def _repo(path: Path) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(path), "add", "a.txt"], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", "start"], check=True)
    return path


def _lane(name: str, tmp: Path, cwd: Path, fence: str, extra: str = "") -> str:
    return (f"  {name}:\n    role: coder\n    harness: command\n"
            f"    command: [{sys.executable}, -u, {tmp / 'repl.py'}]\n"
            f"    ready: \"READY>\\\\s*$\"\n    fence: {fence}\n    cwd: {cwd}\n"
            f"    host: box\n{extra}")


def _config(sshd: Sshd, tmp: Path, lanes: str) -> Path:  # noqa: F811
    cfg = tmp / "laneboard.yaml"
    cfg.write_text(textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        lanes:
        """
    ) + lanes)
    return cfg


def _branches(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "branch", "--list", "lb/*"],
                          capture_output=True, text=True, check=True).stdout


async def test_writable_remote_lanes_never_get_a_worktree_path_that_is_not_there(
    sshd: Sshd, remote_env: Path  # noqa: F811
) -> None:
    tmp = remote_env
    repo = _repo(tmp / "repo")
    cfg_file = _config(sshd, tmp, (
        _lane("writer", tmp, repo, "full")
        + _lane("free", tmp, repo, "full", "    worktree: false\n")
        + _lane("gone", tmp, tmp / "no-such-dir", "full", "    worktree: false\n")
        + _lane("reader", tmp, repo, "plan")
    ))
    checks = await host_checks(load_config(str(cfg_file)), offline=False, timeout=30.0)
    found = {c.subject: c for c in checks if c.id == "host.cwd"}
    assert found["lanes.writer"].status == "fail", found
    assert "worktree: false" in found["lanes.writer"].fix
    assert found["lanes.gone"].status == "fail" and "does not exist" in found["lanes.gone"].message
    assert found["lanes.free"].status == "ok" and found["lanes.reader"].status == "ok"
    # the local worktree checks do not take the host's repository for one of ours
    from laneboard.lanes.preflight.worktree_checks import worktree_checks

    assert worktree_checks(load_config(str(cfg_file)), tmp) == []

    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["writer", "free", "gone", "reader"])
        writer = sup.lanes["writer"]
        assert writer.state == "failed"
        why = writer.last_error or writer.detail
        assert "does not create worktrees on another host" in why, why
        assert str(repo) in why and "worktree: false" in why and "`cwd:`" in why, why
        gone = sup.lanes["gone"]
        assert gone.state == "failed"
        assert "does not exist on host 'box'" in (gone.last_error or gone.detail)

        # nothing was made here for the refused lane, and it has no window there
        assert not (repo / ".laneboard").exists()
        assert _branches(repo) == ""
        windows, _trouble = await sup.relays.windows(sup.session, ["writer", "free", "reader"])
        assert "writer" not in windows

        # worktree: false runs in the repository itself, on the host
        free = sup.lanes["free"]
        assert free.state == "ready", free.last_error
        assert sup.spec_for(free).cwd == str(repo)
        pid = windows["free"].pid  # the host is this machine: its process is here
        assert pid is not None and os.readlink(f"/proc/{pid}/cwd") == str(repo)
        reader = sup.lanes["reader"]
        assert reader.state == "ready", reader.last_error
        assert sup.spec_for(reader).cwd == str(repo)
        assert not (repo / ".laneboard").exists() and _branches(repo) == ""
    finally:
        await sup.close()


@pytest.mark.parametrize("extra", ["    worktree: true\n", "    replicas: 2\n"])
def test_a_remote_lane_that_asks_for_a_worktree_is_a_config_error(
    tmp_path: Path, extra: str
) -> None:
    from laneboard.errors import ConfigError

    text = ("version: 1\nhosts:\n  box: {ssh: \"me@box\"}\nlanes:\n"
            + _lane("coder", tmp_path, tmp_path, "full", extra))
    with pytest.raises(ConfigError) as err:
        parse_config(text.encode(), str(tmp_path / "laneboard.yaml"))
    message = str(err.value)
    assert f"{tmp_path / 'laneboard.yaml'}:5:" in message, message
    assert "lanes.coder" in message and "worktree: false" in message, message
    assert err.value.exit_code == 2
