"""Prompts sent to an interactive Claude Code lane after a person dismissed a permission
dialog must reach the model whole (notify_bench `--via cockpit`: prompts lost, or their
head cut off — "ch-turn-3 check." for "Please run the notify-bench-turn-3 check.").

Real parts only: the real `claude` 2.1.328 in a pane on a private tmux socket, the
Anthropic stand-in answering every turn with a Bash call Claude Code asks permission for
(a workspace-write lane: laneboard leaves the dialog to the person), the person's Escape
sent with tmux `send-keys` by the test, and the next prompt sent through laneboard's own
send path. Every wait has a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.harnesses.claude.harness import ClaudeCodeHarness
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer
from laneboard.standins.recorded import RecordedRequest
from tests.fixtures.lanes import claude_lane_config
from tests.fixtures.tmux import async_wait_until
from tests.test_harness_claude import make_spec

needs_claude = pytest.mark.usefixtures("claude_binary")
needs_tmux = pytest.mark.usefixtures("tmux_binary")

_TURN = re.compile(r"send-after-dialog-turn-(\d+)")
TURNS = 5


def _reply(request: RecordedRequest) -> Reply:
    """A prompt naming turn n gets a Bash call Claude Code must ask about (curl is not
    read-only); Claude Code's own side requests get a short text."""
    turns = [int(x) for x in _TURN.findall(request.prompt or "")]
    if request.dialect == "anthropic" and turns:
        n = max(turns)
        return Reply.tool_call(
            "Bash",
            {"command": f"curl -s http://127.0.0.1:9/send-after-{n}",
             "description": f"Fetch check {n}"},
            call_id=f"toolu_send_after_dialog_{n:04d}",
        )
    return Reply.text("nothing to do.")


async def _person_presses_escape(socket: str, pane_id: str) -> None:
    """The person dismisses the dialog: a `tmux send-keys` of their own, not laneboard's."""
    proc = await asyncio.create_subprocess_exec(
        "tmux", "-L", socket, "send-keys", "-t", pane_id, "Escape"
    )
    assert await proc.wait() == 0


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_five_turns_after_dismissed_dialogs_reach_claude_whole(
    standin: StandinServer, relay: TmuxRelay, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    standin.set_default(_reply)
    spec = make_spec(standin.url, workdir, tmp_path, fence="workspace-write", deny=())
    h = ClaudeCodeHarness(spec, relay=relay, session="test", state_dir=tmp_path / "state")
    try:
        await h.start()
        assert h.pane is not None
        pane_id = h.pane.pane_id  # type: ignore[attr-defined]
        for n in range(1, TURNS + 1):
            prompt = f"Please run the send-after-dialog-turn-{n} check."
            turn = asyncio.create_task(h.send(prompt, timeout=120))
            await async_wait_until(lambda turn=turn: h.state == "waiting" or turn.done(), timeout=60.0,
                                   what=f"turn {n}: the permission dialog left for the person")
            assert not turn.done(), turn.result()
            asked = [p for p in standin.prompts("anthropic") if f"turn-{n} check" in p]
            assert asked, f"turn {n}: no request for it"
            assert prompt in asked[-1], f"turn {n}: sent {prompt!r}, model got {asked[-1]!r}"
            await relay.send_keys(pane_id, "Escape")  # the person dismisses the dialog
            result = await asyncio.wait_for(turn, 60)
            assert result.state in ("interrupted", "done")
    finally:
        await h.stop()


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_five_supervisor_sends_after_dismissed_dialogs_reach_claude_whole(
    standin: StandinServer, tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through `Supervisor.send`, the cockpit's send path (lane lock, state)."""
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    text = claude_lane_config(standin.url, workspace, tmp_path / "claude-config")
    text = text.replace("fence: plan", "fence: workspace-write")
    standin.set_default(_reply)
    sup = Supervisor(parse_config(text.encode(), "cfg.yaml"), workspace=workspace)
    watcher: asyncio.subprocess.Process | None = None
    try:
        await sup.start_lane("review")
        rt = sup.lanes["review"]
        assert rt.harness is not None
        session = rt.harness.session  # type: ignore[attr-defined]
        # another control-mode client of the session, as the benchmark's pane watcher
        watcher = await asyncio.create_subprocess_exec(
            "tmux", "-L", tmux_socket, "-C", "attach-session", "-f", "ignore-size",
            "-t", f"={session}", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for n in range(1, TURNS + 1):
            prompt = f"Please run the send-after-dialog-turn-{n} check."
            turn = asyncio.create_task(sup.send("review", prompt, timeout=120))
            await async_wait_until(lambda turn=turn: rt.state == "waiting" or turn.done(), timeout=60.0,
                                   what=f"turn {n}: the permission dialog left for the person")
            assert not turn.done(), turn.result()
            asked = [p for p in standin.prompts("anthropic") if f"turn-{n} check" in p]
            assert asked, f"turn {n}: no request for it"
            assert prompt in asked[-1], f"turn {n}: sent {prompt!r}, model got {asked[-1]!r}"
            assert rt.harness is not None
            pane_id = rt.harness.pane.pane_id  # type: ignore[attr-defined]
            await _person_presses_escape(tmux_socket, pane_id)
            result = await asyncio.wait_for(turn, 60)
            assert result.state in ("interrupted", "done")
    finally:
        if watcher is not None and watcher.stdin is not None:
            watcher.stdin.close()
            await asyncio.wait_for(watcher.wait(), 10)
        await sup.stop_all()
        await sup.close()
