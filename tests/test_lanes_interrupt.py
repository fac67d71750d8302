"""`laneboard lanes interrupt LANE`: a real `up --headless` runs a command lane in tmux;
the interrupt, from another process, reaches the lane's program through its harness
(Ctrl-C) and the lane keeps running; a stopped lane is not started by an interrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

# Busy until interrupted: prints a marker on Ctrl-C, then waits again.
PROGRAM = """\
import time
print("READY>", flush=True)
while True:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("GOT-INTERRUPT", flush=True)
"""


def test_interrupt_reaches_a_running_lane_and_never_starts_one(tmp_path: Path, tmux_socket: str) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\n"
        "lanes:\n"
        "  worker:\n"
        "    role: helper\n"
        "    harness: command\n"
        f"    command: [{sys.executable}, -u, {tmp_path / 'prog.py'}]\n"
        "    ready: 'READY>'\n"
        "  idle:\n"
        "    role: helper\n"
        "    harness: command\n"
        f"    command: [{sys.executable}, -u, {tmp_path / 'prog.py'}]\n"
    )
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    cli = [sys.executable, "-m", "laneboard.cli"]
    up = subprocess.Popen([*cli, "up", "--headless", "--config", str(cfg)], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if line.startswith("laneboard up: ") and "lanes on tmux socket" in line:
                break
        else:
            raise AssertionError("laneboard up did not start its lanes")
        stop = subprocess.run([*cli, "lanes", "stop", "idle", "--config", str(cfg)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr

        done = subprocess.run([*cli, "lanes", "interrupt", "worker", "--json", "--config", str(cfg)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["interrupted"] is True

        def pane_text() -> str:
            return subprocess.run(
                ["tmux", "-L", tmux_socket, "capture-pane", "-p", "-t", "=lb-" + tmp_path.name[:45] + ":worker"],
                capture_output=True, text=True, check=False,
            ).stdout

        wait_until(lambda: "GOT-INTERRUPT" in pane_text(), timeout=20)

        refused = subprocess.run([*cli, "lanes", "interrupt", "idle", "--config", str(cfg)],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1
        assert "not running" in refused.stdout
        status = subprocess.run([*cli, "lanes", "status", "--json", "--config", str(cfg)],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        rows = {r["id"]: r for r in json.loads(status.stdout)["lanes"]}
        assert rows["idle"]["state"] == "stopped"
        assert rows["worker"]["state"] != "stopped"

        unknown = subprocess.run([*cli, "lanes", "interrupt", "nope", "--config", str(cfg)],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert unknown.returncode == 2 and "no lane named 'nope'" in unknown.stderr
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
        subprocess.run([*cli, "lanes", "stop", "--all", "--config", str(cfg)], cwd=tmp_path, env=env,
                       capture_output=True, timeout=60, check=False)
