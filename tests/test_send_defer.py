"""`laneboard send … --defer-if-busy` never types into a busy lane: with real `laneboard send`
processes and a real command lane (tmux, private socket) whose turn runs until a file
appears, a deferred prompt says so on stderr, waits, and reaches the lane only after the turn
ended. The lane logs every line it reads, with whether it was busy at that moment, so the
test reads the lane's own account. A plain send into the same busy lane is the control: it
does land during the turn, so the deferred case would be caught typing early."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

#: Reads stdin all the time (also while "working"), logging "<phase>\t<line>". "work"
#: starts a turn that lasts until the flag file exists; lines read meanwhile get "WORKING"
#: again, so the busy mark stays at the bottom of the screen.
BUSY_REPL = textwrap.dedent(
    """
    import os, sys, threading, time
    log, flag = sys.argv[1], sys.argv[2]
    phase = ["idle"]

    def note(line):
        with open(log, "a", encoding="utf-8") as f:
            f.write(phase[0] + "\\t" + line + "\\n")

    def work():
        while not os.path.exists(flag):
            time.sleep(0.05)
        phase[0] = "idle"
        print("finished", flush=True)

    print("hello", flush=True)
    for raw in sys.stdin:
        line = raw.strip()
        note(line)
        if line == "work" and phase[0] == "idle":
            phase[0] = "busy"
            print("WORKING", flush=True)
            threading.Thread(target=work, daemon=True).start()
        elif phase[0] == "busy":
            print("WORKING", flush=True)
        else:
            print("answer: " + line[::-1], flush=True)
    """
)


def _setup(tmp_path: Path, tmux_socket: str) -> tuple[list[str], dict[str, str], Path, Path]:
    repl, log, flag = tmp_path / "repl.py", tmp_path / "received.log", tmp_path / "turn-over"
    repl.write_text(BUSY_REPL)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\n"
        "lanes:\n"
        "  main:\n"
        "    role: orchestrator\n"
        "    fence: workspace-write\n"  # the lane writes its log into the workspace
        "    harness: command\n"
        f"    command: [{sys.executable}, -u, {repl}, {log}, {flag}]\n"
        "    busy: 'WORKING\\s*\\z'\n"  # no ready pattern: adopting does not wait for one
    )
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    cli = [sys.executable, "-m", "laneboard", "send", "--config", str(cfg)]
    return cli, env, log, flag


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _run(cli: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli, capture_output=True, text=True, env=env, cwd=cwd, timeout=90)


def test_deferred_prompt_arrives_after_the_busy_turn(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log, flag = _setup(tmp_path, tmux_socket)
    work = _run([*cli, "main", "work"], env, tmp_path)
    assert work.returncode == 0, work.stderr
    wait_until(lambda: "idle\twork" in _lines(log), timeout=30)

    early = _run([*cli, "main", "early"], env, tmp_path)  # the control: no deferral
    assert early.returncode == 0, early.stderr
    wait_until(lambda: "busy\tearly" in _lines(log), timeout=30)

    proc = subprocess.Popen([*cli, "--defer-if-busy", "--json", "main", "after"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("deferred: main is busy; waiting for it" in e for e in err),
                   timeout=60)
        assert not any(line.endswith("\tafter") for line in _lines(log))
        assert proc.poll() is None  # still waiting for the lane
        flag.write_text("done")  # the turn ends
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 0, "".join(err)
    doc = json.loads(out)
    assert doc["state"] == "delivered" and doc["deferred"] is True
    wait_until(lambda: "idle\tafter" in _lines(log), timeout=30)
    assert "busy\tafter" not in _lines(log)
    assert _lines(log).count("idle\tafter") == 1


def test_defer_on_an_idle_lane_sends_at_once(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log, _flag = _setup(tmp_path, tmux_socket)
    warm = _run([*cli, "--wait", "main", "hi"], env, tmp_path)
    assert warm.returncode == 0, warm.stderr
    wait_until(lambda: "idle\thi" in _lines(log), timeout=30)

    sent = _run([*cli, "--defer-if-busy", "--wait", "--json", "main", "again"], env, tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert "deferred:" not in sent.stderr
    doc = json.loads(sent.stdout)
    assert doc["state"] == "done" and doc["deferred"] is False
    assert "answer: niaga" in doc["reply"]
    assert _lines(log) == ["idle\thi", "idle\tagain"]


def test_defer_with_untrusted_is_refused(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log, _flag = _setup(tmp_path, tmux_socket)
    res = _run([*cli, "--defer-if-busy", "--untrusted", "main", "x"], env, tmp_path)
    assert res.returncode == 2
    assert "--defer-if-busy" in res.stderr and "Traceback" not in res.stderr
    assert not log.exists()
