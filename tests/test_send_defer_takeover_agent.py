"""`laneboard send --defer-if-busy` taking over a Claude Code lane in the middle of a turn:
the fresh `send` process adopts the running pane, whose screen shows a turn, not the input
box. It must not wait the harness's start timeout (60 s) for the input box regardless of
`--timeout` (nor, past that, fail the start — which stopped the pane and the turn with
it): it waits for the turn under its own deadline and, still busy then, exits 1 saying so,
with nothing sent. The real Claude Code in real tmux on a private socket, against a
stand-in Anthropic endpoint whose first answer streams for about a minute."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneboard.standins import Reply, StandinServer
from laneboard.standins.recorded import RecordedRequest
from tests.fixtures.lanes import claude_lane_config
from tests.test_send_cli import cli_env, lane_pids, laneboard  # noqa: F401 (cli_env: fixture)

FIRST = "review the first change"

pytestmark = [pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.usefixtures("claude_binary")]


def _turn(standin: StandinServer) -> RecordedRequest:
    """The request of the first turn (Claude Code makes calls of its own besides)."""
    turns = [c for c in standin.calls(dialect="anthropic") if c.prompt == FIRST]
    assert turns, [c.prompt for c in standin.calls()]
    return turns[-1]


def test_deferred_takeover_of_a_busy_claude_lane_exits_1_and_leaves_it(
    tmux_socket: str, tmp_path: Path, cli_env: dict[str, str], standin: StandinServer  # noqa: F811
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    config = tmp_path / "laneboard.yaml"
    config.write_text(claude_lane_config(standin.url, workspace, tmp_path / "claude-config"))
    standin.script(Reply.slow(" ".join(f"finding{i}" for i in range(300)), delay=0.2))
    first = laneboard(["send", "review", FIRST, "--config", str(config)],
                      cli_env, workspace)
    assert first.returncode == 0, first.stderr
    standin.wait_for_calls(1, dialect="anthropic", timeout=30)
    assert _turn(standin).finished is None  # the answer is still streaming: the lane is busy
    pids = lane_pids(tmux_socket)
    assert len(pids) == 1

    late = laneboard(["send", "review", "the late one", "--defer-if-busy", "--timeout", "6",
                      "--config", str(config)], cli_env, workspace, timeout=120)
    assert late.returncode == 1, late.stderr
    assert "Traceback" not in late.stderr
    assert "deferred: review is busy; waiting for it" in late.stderr
    assert "stayed busy for 6s; the prompt was not sent" in late.stderr, late.stderr
    assert lane_pids(tmux_socket) == pids  # the same Claude Code, its turn not stopped
    assert not any("the late one" in (p or "") for p in standin.prompts(dialect="anthropic"))
    assert _turn(standin).finished is None  # still answering

    stop = laneboard(["lanes", "stop", "--all", "--config", str(config)], cli_env, workspace)
    assert stop.returncode == 0, stop.stderr
