"""Lanes started by laneboard talk through the gateway, and its counts reach `lanes status`.

Real parts end to end: `python -m laneboard send …` in a subprocess, the real Claude Code in
a tmux pane on a private socket, the gateway the supervisor starts in the session's hidden
`_gateway` window, and the Anthropic stand-in behind it. What is checked: every model call
the stand-in answered passed the gateway (its per-lane request count equals the stand-in's
call count), the usage `laneboard lanes status --json` shows equals what the stand-in
reported, and a lane with `gateway: false` goes direct while preflight warns about it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.standins import Reply, StandinServer
from laneboard.standins.server import RecordedRequest
from tests.fixtures.lanes import claude_lane_config
from tests.fixtures.tmux import wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

IN_TOKENS, OUT_TOKENS = 1234, 56


def laneboard(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )  # fmt: skip


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


def _counted(_req: RecordedRequest) -> Reply:
    """Every model call, whatever Claude Code asks, reports the same usage."""
    return Reply.text("Looks fine.", input_tokens=IN_TOKENS, output_tokens=OUT_TOKENS)


def _setup(tmp_path: Path, standin: StandinServer, extra: str = "") -> tuple[Path, Path]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    config = tmp_path / "laneboard.yaml"
    config.write_text(
        claude_lane_config(standin.url, workspace, tmp_path / "claude-config") + extra
    )
    standin.set_default(_counted)
    return workspace, config


@pytest.mark.usefixtures("claude_binary")
def test_claude_lane_talks_through_the_gateway_and_status_shows_its_usage(
    tmux_socket: str, tmp_path: Path, cli_env: dict[str, str], standin: StandinServer
) -> None:
    workspace, config = _setup(tmp_path, standin)
    sent = laneboard(["send", "review", "review app.py please", "--wait", "--json",
                      "--config", str(config)], cli_env, workspace)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["state"] == "done", sent.stdout
    calls = standin.calls(dialect="anthropic")
    assert calls, "the stand-in was never asked"

    gw = laneboard(["gateway", "status", "--json", "--socket", tmux_socket], cli_env, workspace)
    assert gw.returncode == 0, gw.stderr
    doc = json.loads(gw.stdout)
    assert doc["pid"] and doc["url"].startswith("http://127.0.0.1:")
    # Every call the stand-in answered passed the gateway: the gateway counted each.
    wait_until(lambda: _gateway_lane(cli_env, workspace, tmux_socket).get("requests")
               == len(standin.calls(dialect="anthropic")), timeout=10)  # fmt: skip
    # The lane's CLI was pointed at the gateway, not at the stand-in.
    panes = subprocess.run(["tmux", "-L", tmux_socket, "list-windows", "-a", "-F",
                            "#{window_name}"], capture_output=True, text=True).stdout.split()
    assert "_gateway" in panes

    n = len(standin.calls(dialect="anthropic"))
    status = laneboard(["lanes", "status", "--json", "--config", str(config)], cli_env, workspace)
    assert status.returncode == 0, status.stderr
    lanes = json.loads(status.stdout)
    rows = lanes["lanes"] if isinstance(lanes, dict) else lanes
    review = next(r for r in rows if r["id"] == "review")
    assert review["usage"]["input_tokens"] == IN_TOKENS * n
    assert review["usage"]["output_tokens"] == OUT_TOKENS * n
    assert review["usage"]["cost_usd"] in (None, 0.0)  # no price configured: none invented

    stop = laneboard(["lanes", "stop", "--all", "--config", str(config)], cli_env, workspace)
    assert stop.returncode == 0, stop.stderr


def _gateway_lane(env: dict[str, str], cwd: Path, socket: str) -> dict[str, object]:
    done = laneboard(["gateway", "status", "--json", "--socket", socket], env, cwd)
    lanes = json.loads(done.stdout).get("lanes", {}) if done.returncode == 0 else {}
    lane = lanes.get("review", {})
    return lane if isinstance(lane, dict) else {}


@pytest.mark.usefixtures("claude_binary")
def test_gateway_false_goes_direct_and_preflight_warns(
    tmux_socket: str, tmp_path: Path, cli_env: dict[str, str], standin: StandinServer
) -> None:
    workspace, config = _setup(tmp_path, standin)
    config.write_text(config.read_text().replace(
        "    fence: plan\n", "    fence: plan\n    gateway: false\n"))  # fmt: skip
    pre = laneboard(["preflight", "--json", "--offline", "--config", str(config)],
                    cli_env, workspace)  # fmt: skip
    checks = json.loads(pre.stdout)["checks"]
    warned = [c for c in checks if c["id"] == "policy.gateway"]
    assert len(warned) == 1 and warned[0]["status"] == "warn"
    assert "redacted" in warned[0]["message"] and warned[0]["subject"] == "lane review"

    sent = laneboard(["send", "review", "review app.py please", "--wait", "--json",
                      "--config", str(config)], cli_env, workspace)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert standin.calls(dialect="anthropic")
    windows = subprocess.run(["tmux", "-L", tmux_socket, "list-windows", "-a", "-F",
                              "#{window_name}"], capture_output=True, text=True).stdout.split()
    assert "_gateway" not in windows  # no lane needed it, so none was started
    assert list((tmp_path / "state").glob("gateway-*/routes.json")) == []
    stop = laneboard(["lanes", "stop", "--all", "--config", str(config)], cli_env, workspace)
    assert stop.returncode == 0, stop.stderr
