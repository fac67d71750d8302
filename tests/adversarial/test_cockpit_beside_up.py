"""Promise under attack: one process supervises a session, even when a person opens the
cockpit while `laneboard up --headless` already runs. Both restarting a dead lane would
give it two windows (two agents on one task). The cockpit takes the same supervisor lock;
when it is held, the cockpit adopts the lanes, says who supervises, and leaves restarts
to that process. Real processes: `up` and the cockpit (in a real tmux pane) both run
`python -m laneboard` against one private tmux socket."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.test_supervisor_races import Env, echo_lane, env, running_up
from tests.fixtures.tmux import wait_until

__all__ = ["env"]  # the fixture, re-used
pytestmark = [pytest.mark.tmux, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outer() -> Iterator[list[str]]:
    """A second private tmux server that shows the cockpit, as a person's terminal."""
    name = f"lb-outer-{uuid.uuid4().hex[:8]}"
    yield ["tmux", "-L", name, "-f", "/dev/null"]
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


def lane_pid(e: Env) -> int:
    out = subprocess.run(
        ["tmux", "-L", e.socket, "list-windows", "-a", "-F", "#{@laneboard_lane} #{pane_pid}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line.split() for line in out.splitlines()]
    pids = [int(row[1]) for row in rows if len(row) == 2 and row[0] == "echo"]
    assert len(pids) == 1, out
    return pids[0]


def test_a_cockpit_beside_up_leaves_restarts_to_up(env: Env, outer: list[str]) -> None:
    cfg = env.config(echo_lane(env))
    with running_up(env, cfg) as up:
        wait_until(lambda: env.status(cfg)["echo"]["state"] == "ready", timeout=60)
        clean = {k: v for k, v in env.env.items() if k not in ("TMUX", "TMUX_PANE")}
        cockpit_env = {**clean, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
        subprocess.run(
            [*outer, "new-session", "-d", "-s", "c", "-x", "140", "-y", "36", "-c", str(env.tmp),
             "env", *[f"{k}={v}" for k, v in cockpit_env.items() if k in (
                 "LANEBOARD_TMUX_SOCKET", "LANEBOARD_STATE_DIR", "TERM", "PYTHONPATH", "PATH",
                 "HOME")],
             sys.executable, "-m", "laneboard", "--config", str(cfg)],
            check=True, env=clean,
        )  # fmt: skip

        def screen() -> str:
            return subprocess.run([*outer, "capture-pane", "-p", "-t", "=c:"],
                                  capture_output=True, text=True, check=False).stdout

        try:
            wait_until(lambda: "supervised elsewhere" in screen(), timeout=60)
        except AssertionError:
            raise AssertionError(f"no notice on the cockpit:\n{screen()}") from None
        assert str(up.proc.pid) in screen().replace("\n", " ")
        # The lane dies: `up` restarts it, the cockpit does not — one window, always.
        first = lane_pid(env)
        os.kill(first, 9)
        wait_until(lambda: up.saw("LaneRestartScheduled lane=echo"), timeout=60)
        wait_until(lambda: env.status(cfg)["echo"]["state"] == "ready" and
                   env.windows().count("echo") == 1 and lane_pid(env) != first, timeout=60)
        assert env.windows().count("echo") == 1, env.windows()
        # A cockpit that restarted too would have found up's new window and published its
        # own adoption of it over up's record (seen before the lock: detail "adopted").
        wait_until(lambda: env.status(cfg)["echo"]["detail"] != "starting", timeout=30)
        assert env.status(cfg)["echo"]["detail"] != "adopted", env.status(cfg)["echo"]
        subprocess.run([*outer, "send-keys", "-t", "=c:", "C-q"], check=True)
    assert env.windows().count("echo") <= 1
