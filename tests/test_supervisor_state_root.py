"""A supervisor keeps writing lane publications where it started, whatever the
environment says later.

Publications are written on a publisher thread, after the call that made them; resolving
$LANEBOARD_STATE_DIR at write time sent a test's late writes into the person's real
~/.local/state (found there after a run). Real tmux on a private socket, a command lane.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.lanes.supervisor import Supervisor

pytestmark = pytest.mark.tmux


async def test_publications_stay_in_the_state_dir_the_supervisor_started_with(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(first))
    (tmp_path / "repl.py").write_text("import sys\nprint('READY>', flush=True)\nsys.stdin.read()\n")
    loaded = parse_config(
        ("version: 1\nlanes:\n  echo:\n    role: helper\n    harness: command\n"
         f"    command: [{sys.executable}, -u, {tmp_path / 'repl.py'}]\n"
         '    ready: "READY>\\\\s*$"\n').encode(), "lanes.yaml")
    sup = Supervisor(loaded, workspace=tmp_path)
    try:
        await sup.start(["echo"])
        monkeypatch.setenv("LANEBOARD_STATE_DIR", str(later))
        await sup.stop_lane("echo")
    finally:
        await sup.close()
    files = [p for p in first.rglob("*.lanes.json")]
    assert len(files) == 1
    lanes = json.loads(files[0].read_text())["lanes"]
    assert lanes["echo"]["user_stopped"] is True
    assert not list(later.rglob("*.lanes.json")), "a publication went to the later state dir"
