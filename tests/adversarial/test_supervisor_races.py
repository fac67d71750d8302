"""Promise under attack: the supervisor's view of a lane is the same from every process.

What one process decided (a lane `failed` at start, a lane `restarting`, the last error,
a person's `lanes stop`) must be what every other laneboard process sees and obeys; two
`up --headless` started together must not both supervise; SIGTERM must end `up` cleanly
and within a bound. Everything here runs real processes (`python -m laneboard`), a real
tmux server on a private socket and `harness: command` lanes (cheap shell programs).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from laneboard.harnesses.tmux import TmuxRelay
from laneboard.lanes.supervisor import workspace_session
from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)
BOUND_S = 20.0
"""SIGTERM → exit within this (a shutdown that hangs would hit it; a clean one takes ~1s)."""


@dataclass
class Env:
    tmp: Path
    socket: str
    env: dict[str, str]

    def config(self, lanes: str) -> Path:
        cfg = self.tmp / "cfg.yaml"
        cfg.write_text(f"version: 1\nlanes:\n{textwrap.indent(textwrap.dedent(lanes), '  ')}")
        return cfg

    def laneboard(self, *args: str, cfg: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "laneboard", *args, "--config", str(cfg)],
            cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def status(self, cfg: Path) -> dict[str, dict[str, Any]]:
        done = self.laneboard("lanes", "status", "--json", cfg=cfg)
        assert done.returncode == 0, done.stderr
        return {row["id"]: row for row in json.loads(done.stdout)["lanes"]}

    def windows(self) -> list[str]:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "list-windows", "-a", "-F", "#{@laneboard_lane}"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        return [w for w in out.split() if w]


@dataclass
class Up:
    """A running `laneboard up --headless`, its output collected as it comes."""

    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.out)

    def saw(self, needle: str) -> bool:
        return needle in self.text()

    def until(self, needle: str, timeout: float = 60) -> None:
        """Wait for `needle` in the output (or the process's end) with a deadline."""
        wait_until(lambda: self.saw(needle) or self.proc.poll() is not None, timeout=timeout)

    def terminate(self) -> int:
        """SIGTERM, then the exit status (the bound is part of what is tested)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"up ignored SIGTERM for {BOUND_S}s; stderr: {''.join(self.err)}") from None
        for t in self.readers:
            t.join(timeout=10)
        return code


@pytest.fixture
def env(tmp_path: Path, tmux_socket: str) -> Env:
    (tmp_path / "repl.py").write_text(REPL)
    return Env(
        tmp_path,
        tmux_socket,
        {
            **os.environ,
            "LANEBOARD_TMUX_SOCKET": tmux_socket,
            "LANEBOARD_STATE_DIR": str(tmp_path / "state"),
            "PYTHONUNBUFFERED": "1",
        },
    )


def start_up(env: Env, cfg: Path) -> Up:
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard", "up", "--headless", "--config", str(cfg)],
        cwd=env.tmp, env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    up = Up(proc)
    for stream, sink in ((proc.stdout, up.out), (proc.stderr, up.err)):
        assert stream is not None
        t = threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True)
        t.start()
        up.readers.append(t)
    return up


@contextmanager
def running_up(env: Env, cfg: Path) -> Iterator[Up]:
    up = start_up(env, cfg)
    try:
        up.until("laneboard up:")
        assert up.saw("laneboard up:"), f"up did not start: {''.join(up.err)}"
        yield up
    finally:
        up.terminate()


def echo_lane(env: Env, name: str = "echo", restart: str = "{backoff_s: 0.05}") -> str:
    return f"""\
{name}:
  role: helper
  harness: command
  fence: full
  command: [{sys.executable}, -u, {env.tmp / 'repl.py'}]
  ready: "READY>\\\\s*$"
  restart: {restart}
"""


# ------------------------------------------------------------------ published states


def test_status_from_another_process_sees_failed_and_its_error(env: Env) -> None:
    # a ready pattern makes the start itself fail: the program exits before it is ready
    cfg = env.config(
        'broken:\n  role: helper\n  harness: command\n  fence: full\n  command: [sh, -c, "exit 3"]\n'
        '  ready: "READY"\n'
    )
    with running_up(env, cfg):
        row = env.status(cfg)["broken"]
        assert row["state"] == "failed", row
        assert "status 3" in (row["last_error"] or ""), row


def test_status_from_another_process_sees_restarting_with_attempt_and_delay(env: Env) -> None:
    cfg = env.config(echo_lane(env, restart="{backoff_s: 30, backoff_max_s: 30}"))
    with running_up(env, cfg) as up:
        pid = env.status(cfg)["echo"]["pid"]
        assert pid
        subprocess.run(["pkill", "-KILL", "-P", str(pid)], check=False)  # the lane's program
        wait_until(lambda: up.saw("state='restarting'"), timeout=30)
        row = env.status(cfg)["echo"]
        assert row["state"] == "restarting", row
        assert row["restart"] == {"attempt": 1, "delay_s": 30.0}, row
        assert "exited" in (row["last_error"] or ""), row


def test_lane_error_at_start_ends_failed_with_the_error_shown(env: Env) -> None:
    """The command harness raises LaneError when the lane's window already runs another
    harness; before the fix the lane stayed `starting` forever."""
    async def squat() -> None:
        relay = TmuxRelay(env.socket, state_dir=env.tmp / "squatter")
        try:  # the session `up` will use for this workspace, lane `echo`, another harness
            await relay.create_lane_window(
                workspace_session(env.tmp), "echo", ["sleep", "600"], cwd=env.tmp,
                metadata={"harness": "codex"},
            )  # fmt: skip
        finally:
            await relay.close()

    asyncio.run(squat())
    cfg = env.config(echo_lane(env))
    with running_up(env, cfg) as up:
        wait_until(lambda: up.saw("lane=echo state='failed'"), timeout=30)
        row = env.status(cfg)["echo"]
        assert row["state"] == "failed", row
        assert "codex harness" in (row["last_error"] or ""), row


# ------------------------------------------------------------------ a person's stop


def test_lanes_stop_from_another_process_is_not_undone_by_a_running_up(env: Env) -> None:
    cfg = env.config(echo_lane(env))
    with running_up(env, cfg) as up:
        assert "echo" in env.windows()
        done = env.laneboard("lanes", "stop", "echo", cfg=cfg)
        assert done.returncode == 0, done.stderr
        # up notices the death and, knowing it was a person's stop, settles on `stopped`
        wait_until(lambda: up.saw("lane=echo state='stopped'"), timeout=30)
        row = env.status(cfg)["echo"]
        assert row["state"] == "stopped" and row["user_stopped"] is True, row
        assert "echo" not in env.windows()
    after_stop = up.text().split("lane=echo state='stopped'", 1)[1]
    assert "restarting" not in after_stop and "state='starting'" not in after_stop, up.text()
    assert "echo" not in env.windows()


# ------------------------------------------------------------------ a restarted supervisor


def test_a_restarted_supervisor_leaves_a_failed_lane_alone_until_a_person_starts_it(env: Env) -> None:
    go = env.tmp / "GO"
    cfg = env.config(
        f"gated:\n  role: helper\n  harness: command\n  fence: full\n"
        f"  command: [sh, -c, 'test -f {go} || exit 3; echo READY; exec cat']\n"
        f'  ready: "READY\\\\s*$"\n'
    )
    with running_up(env, cfg):
        assert env.status(cfg)["gated"]["state"] == "failed"
    go.touch()  # from now on the lane *would* start: only the rule keeps it down
    with running_up(env, cfg) as up:
        assert up.saw("not started (failed before")
        row = env.status(cfg)["gated"]
        assert row["state"] == "failed" and "status 3" in (row["last_error"] or ""), row
        assert "gated" not in env.windows()
        done = env.laneboard("lanes", "start", "gated", cfg=cfg)
        assert done.returncode == 0, done.stdout + done.stderr
        row = env.status(cfg)["gated"]
        assert row["state"] == "ready", row
        assert row["last_error"] is None, row


# ------------------------------------------------------------------ who supervises


@pytest.mark.slow
def test_two_ups_started_together_exactly_one_supervises(env: Env) -> None:
    cfg = env.config(echo_lane(env, "one") + echo_lane(env, "two"))
    for attempt in range(10):
        ups = [start_up(env, cfg), start_up(env, cfg)]
        try:
            for u in ups:
                u.until("laneboard up:")
            winners = [u for u in ups if u.saw("laneboard up:")]
            losers = [u for u in ups if u not in winners]
            assert len(winners) == 1 and len(losers) == 1, (attempt, [u.text() for u in ups])
            loser = losers[0]
            assert loser.proc.wait(timeout=BOUND_S) == 1
            for t in loser.readers:
                t.join(timeout=10)
            assert "already supervises" in "".join(loser.err), "".join(loser.err)
            assert sorted(env.windows()) == ["one", "two"], (attempt, env.windows())
        finally:
            for u in ups:
                u.terminate()
        subprocess.run(["tmux", "-L", env.socket, "kill-server"], capture_output=True, check=False)


# ------------------------------------------------------------------ shutdown


@pytest.mark.slow
def test_sigterm_ends_up_cleanly_and_within_a_bound_every_time(env: Env) -> None:
    """Ten runs, SIGTERM at different moments: right after start, while a lane is in its
    restart backoff, and while lanes are still starting."""
    cfg = env.config(
        echo_lane(env)
        + echo_lane(env, "dying", restart="{backoff_s: 5}").replace(
            f"[{sys.executable}, -u, {env.tmp / 'repl.py'}]",
            "[sh, -c, 'echo READY\">\"; sleep 0.3; exit 1']",
        )
    )
    for attempt in range(10):
        up = start_up(env, cfg)
        if attempt % 3 == 0:
            up.until("LaneStateChanged")  # still starting lanes
        elif attempt % 3 == 1:
            up.until("lane=dying state='restarting'")  # in a backoff
        else:
            up.until("laneboard up:")
        code = up.terminate()
        stderr = "".join(up.err)
        assert code == 0, (attempt, code, stderr)
        assert "Task was destroyed" not in stderr and "Traceback" not in stderr, (attempt, stderr)
        assert "did not stop" not in stderr, (attempt, stderr)  # the hard-exit fallback
        assert up.saw("laneboard up: detached"), (attempt, up.text())
