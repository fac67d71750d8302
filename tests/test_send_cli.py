"""`laneboard send LANE PROMPT` without `--wait`: deliver, and return while the lane works.

Real processes end to end: `python -m laneboard send …` in a subprocess, lanes in real tmux
on a private socket, the real Claude Code against a stand-in endpoint. What is checked:
the lane is started when it is not running, the prompt reaches the lane (its pane, or the
model endpoint), the command returns while the turn is still going, with one JSON
document of the documented shape, and the lane keeps running after the command exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.standins import Reply, StandinServer
from tests.fixtures.lanes import claude_lane_config
from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

#: A REPL that takes a line, says it got it, then holds the turn open until a file
#: exists — so a test can see that `send` returned while the turn was still running.
HOLDING_REPL = textwrap.dedent(
    """
    import os, sys, time
    release = sys.argv[1]
    print("READY>", flush=True)
    for line in sys.stdin:
        line = line.rstrip("\\n")
        print("got: " + line, flush=True)
        while not os.path.exists(release):
            time.sleep(0.02)  # the lane's own work, not the test's synchronisation
        os.remove(release)
        print("echo: " + line, flush=True)
        print("READY>", flush=True)
    """
)

JSON_KEYS = {
    "lane", "state", "reply", "usage", "elapsed_s", "error", "model", "fence", "deny",
    "untrusted", "triage",
}  # fmt: skip


def laneboard(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )  # fmt: skip


def tmux(socket: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def pane_text(socket: str) -> str:
    """Everything every lane pane on the socket shows, scrollback included."""
    panes = tmux(socket, "list-panes", "-a", "-F", "#{pane_id}").split()
    return "\n".join(tmux(socket, "capture-pane", "-p", "-J", "-S", "-", "-t", p) for p in panes)


def lane_pids(socket: str) -> list[str]:
    """Process ids of the lane windows (those carrying laneboard's lane option)."""
    rows = tmux(socket, "list-panes", "-a", "-F", "#{@laneboard_lane} #{pane_pid}").split("\n")
    return [row.split()[1] for row in rows if len(row.split()) == 2]


@pytest.fixture
def cli_env(tmux_socket: str, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LANEBOARD_TMUX_SOCKET": tmux_socket,
        "LANEBOARD_STATE_DIR": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    env.pop("LANEBOARD_CONFIG", None)
    (tmp_path / "home").mkdir()
    return env


def test_send_without_wait_starts_the_lane_delivers_and_returns(
    tmux_socket: str, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    release = tmp_path / "release"
    (tmp_path / "repl.py").write_text(HOLDING_REPL)
    config = tmp_path / "laneboard.yaml"
    config.write_text(
        f"""\
version: 1
lanes:
  worker:
    role: helper
    harness: command
    command: [{sys.executable}, -u, {tmp_path / 'repl.py'}, {release}]
    ready: "READY>\\\\s*$"
    fence: workspace-write  # it deletes its release file (a read-only lane cannot)
    cwd: {tmp_path}
"""
    )
    assert lane_pids(tmux_socket) == []  # nothing runs yet

    done = laneboard(["send", "worker", "hello there", "--json", "--config", str(config)],
                     cli_env, workspace)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # exactly one JSON document
    assert set(doc) == JSON_KEYS
    assert doc["lane"] == "worker" and doc["state"] == "delivered"
    assert doc["reply"] is None and doc["usage"] is None and doc["error"] is None
    assert isinstance(doc["elapsed_s"], float)

    # The lane was started and outlives the command; the prompt reached it, and the
    # turn is still open (the REPL holds it until the release file exists).
    pids = lane_pids(tmux_socket)
    assert len(pids) == 1
    wait_until(lambda: "got: hello there" in pane_text(tmux_socket), timeout=10)
    assert "echo: hello there" not in pane_text(tmux_socket)
    release.touch()
    wait_until(lambda: "echo: hello there" in pane_text(tmux_socket), timeout=10)

    # A second deliver-only send adopts the running lane (same process) and delivers.
    again = laneboard(["send", "worker", "second one", "--config", str(config)],
                      cli_env, workspace)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""  # without --json, only a note on stderr
    assert "sent to worker" in again.stderr
    assert lane_pids(tmux_socket) == pids
    wait_until(lambda: "got: second one" in pane_text(tmux_socket), timeout=10)
    release.touch()
    wait_until(lambda: "echo: second one" in pane_text(tmux_socket), timeout=10)

    stop = laneboard(["lanes", "stop", "--all", "--config", str(config)], cli_env, workspace)
    assert stop.returncode == 0, stop.stderr
    assert lane_pids(tmux_socket) == []


@pytest.mark.slow
@pytest.mark.usefixtures("claude_binary")
def test_send_without_wait_to_claude_code_reaches_the_endpoint(
    tmux_socket: str, tmp_path: Path, cli_env: dict[str, str], standin: StandinServer
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    config = tmp_path / "laneboard.yaml"
    config.write_text(claude_lane_config(standin.url, workspace, tmp_path / "claude-config"))
    # a slow answer: 30 words, 0.3 s apart — the command must not wait for it
    standin.script(Reply.slow(" ".join(f"finding{i}" for i in range(30)), delay=0.3))
    prompt = "review the change to app.py please"
    done = laneboard(["send", "review", prompt, "--json", "--config", str(config)],
                     cli_env, workspace)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == JSON_KEYS
    assert (doc["lane"], doc["state"], doc["reply"]) == ("review", "delivered", None)
    # The prompt reached the model, and the answer was still streaming when send returned.
    calls = standin.wait_for_calls(1, dialect="anthropic", timeout=10)
    assert calls[-1].prompt == prompt
    assert calls[-1].finished is None
    assert len(lane_pids(tmux_socket)) == 1  # Claude Code runs on in its pane
    stop = laneboard(["lanes", "stop", "--all", "--config", str(config)], cli_env, workspace)
    assert stop.returncode == 0, stop.stderr
