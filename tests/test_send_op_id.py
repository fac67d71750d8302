"""`laneboard send … --op-id ID` is idempotent across processes: two real `laneboard send`
processes started together with the same id put the prompt into a real command lane (tmux,
private socket) exactly once; a later retry with that id sends nothing and reports the
first outcome; another id sends again; a bad id is refused (exit 2) before anything runs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

#: Records every line it receives, so the test counts deliveries on the lane's side.
LOGGING_REPL = textwrap.dedent(
    """
    import sys
    log = sys.argv[1]
    print("READY>", flush=True)
    for line in sys.stdin:
        with open(log, "a", encoding="utf-8") as f:
            f.write(line)
        print("answer: " + line.strip()[::-1], flush=True)
        print("READY>", flush=True)
    """
)


def _setup(tmp_path: Path, tmux_socket: str) -> tuple[list[str], dict[str, str], Path]:
    repl, log = tmp_path / "repl.py", tmp_path / "received.log"
    repl.write_text(LOGGING_REPL)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\n"
        "lanes:\n"
        "  main:\n"
        "    role: orchestrator\n"
        "    fence: workspace-write\n"  # the lane writes its log into the workspace
        "    harness: command\n"
        f"    command: [{sys.executable}, -u, {repl}, {log}]\n"
        "    ready: 'READY>\\s*\\z'\n"
    )
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    cli = [sys.executable, "-m", "laneboard", "send", "--config", str(cfg)]
    return cli, env, log


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_same_op_id_from_two_processes_at_once_sends_once(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log = _setup(tmp_path, tmux_socket)
    warm = subprocess.run([*cli, "--wait", "main", "warm up"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=90)
    assert warm.returncode == 0, warm.stderr  # the lane runs before the race

    racers = [subprocess.Popen([*cli, "--wait", "--json", "--op-id", "job-42", "main", "once"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=90) for p in racers]
    assert [p.returncode for p in racers] == [0, 0], [o[1] for o in outs]
    states = sorted(json.loads(o[0])["state"] for o in outs)
    assert states == ["done", "duplicate"]
    wait_until(lambda: "once" in _lines(log), timeout=20)
    assert _lines(log).count("once") == 1

    again = subprocess.run([*cli, "--wait", "--op-id", "job-42", "main", "once"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=90)
    assert again.returncode == 0
    assert "already used for main (done): nothing sent again" in again.stderr
    other = subprocess.run([*cli, "--wait", "--op-id", "job-43", "main", "once"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=90)
    assert other.returncode == 0, other.stderr
    wait_until(lambda: _lines(log).count("once") == 2, timeout=20)

    records = list((tmp_path / "state" / "ops").rglob("*.json"))
    assert len(records) == 2
    for rec in records:  # private: ours alone, the id hashed out of the file name
        assert stat.S_IMODE(rec.stat().st_mode) == 0o600
        assert "job-" not in rec.name
    assert stat.S_IMODE((tmp_path / "state" / "ops").stat().st_mode) == 0o700


def test_a_bad_op_id_is_refused_before_anything_runs(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log = _setup(tmp_path, tmux_socket)
    bad = subprocess.run([*cli, "--op-id", "a\x1bb", "main", "x"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2
    assert "--op-id: an op id must not contain control characters" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not log.exists()
