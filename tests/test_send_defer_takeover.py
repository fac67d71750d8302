"""`laneboard send --defer-if-busy` taking over a busy lane that has a ready pattern: each
`laneboard send` is a fresh process, so it adopts the lane's running tmux window, and a
lane in the middle of a turn does not show its ready pattern. The take-over must neither
give up after the harness's 30 s start wait (ignoring `--timeout`) nor treat the busy
lane as one that failed to start (which stopped it: the agent's work gone), and it must
never type into the busy lane. With real `laneboard send` processes and a real command
lane on a private tmux socket: a deferred send whose `--timeout` passes first exits 1 with
a clear message and leaves the lane running and untouched; one whose turn ends in time is
delivered after the turn, and only then."""

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

#: A ready prompt while idle; "work" starts a turn lasting until the flag file exists,
#: during which the screen shows WORKING and lines read are logged as busy.
READY_REPL = textwrap.dedent(
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
        print("READY>", flush=True)

    print("READY>", flush=True)
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
            print("READY>", flush=True)
    """
)


def _setup(tmp_path: Path, tmux_socket: str) -> tuple[list[str], dict[str, str], Path, Path]:
    repl, log, flag = tmp_path / "repl.py", tmp_path / "received.log", tmp_path / "turn-over"
    repl.write_text(READY_REPL)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\n"
        "lanes:\n"
        "  main:\n"
        "    role: orchestrator\n"
        "    fence: workspace-write\n"  # the lane writes its log into the workspace
        "    harness: command\n"
        f"    command: [{sys.executable}, -u, {repl}, {log}, {flag}]\n"
        "    ready: 'READY>\\s*\\z'\n"
        "    busy: 'WORKING\\s*\\z'\n"
    )
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    cli = [sys.executable, "-m", "laneboard", "send", "--config", str(cfg)]
    return cli, env, log, flag


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _run(cli: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def _pane_pid(tmux_socket: str) -> str:
    out = subprocess.run(["tmux", "-L", tmux_socket, "list-panes", "-a", "-F", "#{pane_pid}"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


def _busy_lane(tmp_path: Path, tmux_socket: str) -> tuple[list[str], dict[str, str], Path, Path]:
    """The lane started by one `send`, then put in a long turn by another."""
    cli, env, log, flag = _setup(tmp_path, tmux_socket)
    warm = _run([*cli, "--wait", "main", "hi"], env, tmp_path)
    assert warm.returncode == 0, warm.stderr
    work = _run([*cli, "main", "work"], env, tmp_path)
    assert work.returncode == 0, work.stderr
    wait_until(lambda: "idle\twork" in _lines(log), timeout=30)
    return cli, env, log, flag


def test_deferred_takeover_past_its_timeout_exits_1_and_leaves_the_lane(
    tmp_path: Path, tmux_socket: str
) -> None:
    cli, env, log, flag = _busy_lane(tmp_path, tmux_socket)
    pid = _pane_pid(tmux_socket)
    assert pid

    res = _run([*cli, "--defer-if-busy", "--timeout", "4", "main", "late"], env, tmp_path)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "deferred: main is busy; waiting for it" in res.stderr
    assert "stayed busy" in res.stderr and "not sent" in res.stderr, res.stderr
    assert "could not start" not in res.stderr
    assert not any(line.endswith("\tlate") for line in _lines(log))  # never typed
    assert _pane_pid(tmux_socket) == pid  # the same process: not stopped, not restarted

    status = subprocess.run([sys.executable, "-m", "laneboard", "lanes", "status", "--json",
                             "--config", str(tmp_path / "cfg.yaml")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "failed" not in json.dumps(json.loads(status.stdout))

    flag.write_text("done")  # the turn ends; the lane answers the next prompt
    after = _run([*cli, "--defer-if-busy", "--wait", "--json", "main", "after"], env, tmp_path)
    assert after.returncode == 0, after.stderr
    assert "answer: retfa" in json.loads(after.stdout)["reply"]
    assert _pane_pid(tmux_socket) == pid


def test_an_op_id_of_a_deferred_send_that_stayed_busy_can_be_retried(
    tmp_path: Path, tmux_socket: str
) -> None:
    """Nothing was typed, so the id is given back: the retry sends, and only once."""
    cli, env, log, flag = _busy_lane(tmp_path, tmux_socket)
    op = ["--op-id", "nightly-7", "--defer-if-busy"]
    gave_up = _run([*cli, *op, "--timeout", "3", "main", "retry"], env, tmp_path)
    assert gave_up.returncode == 1, gave_up.stderr
    assert "stayed busy" in gave_up.stderr
    assert not any(line.endswith("\tretry") for line in _lines(log))

    flag.write_text("done")
    again = _run([*cli, *op, "--wait", "--json", "main", "retry"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["state"] == "done" and doc["op_id"] == "nightly-7"
    once_more = _run([*cli, *op, "--json", "main", "retry"], env, tmp_path)
    assert once_more.returncode == 0, once_more.stderr
    assert json.loads(once_more.stdout)["state"] == "duplicate"
    assert _lines(log).count("idle\tretry") == 1
    assert not any(line == "busy\tretry" for line in _lines(log))


def test_deferred_takeover_sends_when_the_turn_ends(tmp_path: Path, tmux_socket: str) -> None:
    cli, env, log, flag = _busy_lane(tmp_path, tmux_socket)
    pid = _pane_pid(tmux_socket)
    # a --timeout longer than the harness's 30 s start wait: the send must not give up at 30
    proc = subprocess.Popen([*cli, "--defer-if-busy", "--json", "--timeout", "300", "main",
                             "after"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("deferred: main is busy; waiting for it" in e for e in err),
                   timeout=60)
        assert proc.poll() is None
        assert not any(line.endswith("\tafter") for line in _lines(log))
        flag.write_text("done")
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 0, "".join(err)
    assert json.loads(out)["deferred"] is True
    wait_until(lambda: "idle\tafter" in _lines(log), timeout=30)
    assert "busy\tafter" not in _lines(log)
    assert _pane_pid(tmux_socket) == pid
