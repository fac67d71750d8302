"""The cockpit serves the conductor: when it holds the supervisor lock it opens the control
socket before its lanes start (so a lane allowed to delegate is started with it), shows
active delegation runs as a tree beside the lane list, and a person's cancel key
interrupts every lane working on the run. Real command lanes in tmux on a private socket;
the delegations are driven through the real control socket with `main`'s lane token, as
laneboard's MCP server would send them.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneboard.conductor.protocol import Refused, call, control_socket_path, lane_token
from laneboard.lanes.loading import load_file
from laneboard.tui.app import make_app
from laneboard.tui.widgets.run_tree import RunTree
from tests.tui.conftest import wait_for

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

SESSION = "lbrt"

# A lane program: answers a line reversed; `HOLD …` blocks until a Ctrl-C (the person's
# cancel), which it reports, like an agent CLI whose turn was interrupted.
LANE = '''\
import signal
import sys

print("READY>", flush=True)
while True:
    try:
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\\n")
        if text.startswith("HOLD"):
            print("holding", flush=True)
            signal.pause()
        print("answer: " + text[::-1], flush=True)
    except KeyboardInterrupt:
        print("interrupted by the cockpit", flush=True)
    print("READY>", flush=True)
'''


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private state dir: the control socket's path must fit a unix socket."""
    state = Path(tempfile.mkdtemp(prefix="lbrt"))
    os.chmod(state, 0o700)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(state))
    yield state
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def config(tmp_path: Path, state_dir: Path, tmux_socket: str,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.delenv("NO_COLOR", raising=False)
    program = tmp_path / "lane.py"
    program.write_text(LANE)
    ws = tmp_path / "ws"
    ws.mkdir()
    lane = (f"    harness: command\n    command: [{sys.executable}, -u, {program}]\n"
            f"    ready: \"READY>\\\\s*$\"\n    fence: full\n    cwd: {ws}\n")
    cfg = tmp_path / "laneboard.yaml"
    cfg.write_text(
        f"version: 1\ntmux: {{session: {SESSION}}}\nlanes:\n"
        f"  main:\n    role: orchestrator\n{lane}"
        f"  worker:\n    role: coder\n{lane}"
        "routing:\n  default: main\n"
        f"artifacts: {{dir: {tmp_path / 'artifacts'}}}\n"
    )
    return cfg


def _pane(tmux_socket: str, lane: str) -> str:
    out = subprocess.run(["tmux", "-L", tmux_socket, "capture-pane", "-p", "-t",
                          f"={SESSION}:={lane}"], capture_output=True, text=True, check=False)
    return out.stdout


async def test_cockpit_serves_the_conductor_shows_runs_and_cancels(
    config: Path, tmux_socket: str
) -> None:
    app = make_app(lambda: load_file(str(config)), workspace=config.parent / "ws", motion=False)
    socket = control_socket_path(tmux_socket, SESSION)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(lambda: app.ready and all(
            rt.state == "ready" for rt in app.supervisor.lanes.values()), timeout=30)
        sup = app.supervisor
        # The socket is the cockpit's (0600), and it existed before the lanes started:
        # the delegating lane's spec carries it (the worker, with no delegates, does not).
        mode = os.stat(socket).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        main_spec = sup.lanes["main"].harness.spec  # type: ignore[union-attr]
        worker_spec = sup.lanes["worker"].harness.spec  # type: ignore[union-attr]
        assert main_spec.control_socket == str(socket)
        assert worker_spec.control_socket is None
        tree = app.main_screen.query_one("#runs", RunTree)
        assert not tree.display or not tree.has_class("-active")  # hidden: nothing runs

        token = lane_token("main", SESSION)
        done = await call(socket, token, "delegate", {"task": "hello", "lane": "worker"},
                          timeout=60)
        assert done["state"] == "done" and "answer: olleh" in done["answer"], done

        # A refusal names its rule (the worker may not delegate at all).
        with pytest.raises(Refused) as refused:
            await call(socket, lane_token("worker", SESSION), "delegate",
                       {"task": "x", "lane": "main"}, timeout=30)
        assert refused.value.rule

        # A run that keeps the worker busy shows in the tree beside the lane list.
        started = await call(socket, token, "delegate",
                             {"task": "HOLD the line", "lane": "worker", "wait": False},
                             timeout=30)
        run = started["run"]
        await wait_for(lambda: [r["run"] for r in tree.runs] == [run], timeout=15)
        await wait_for(lambda: tree.has_class("-active") and tree.region.width > 0)
        table = app.main_screen.lane_table
        assert tree.region.x >= table.region.right  # beside the lane list, not below it
        run_node = tree.root.children[0]
        assert str(run_node.label).startswith(f"run {run[:8]} · main")
        assert [str(n.label) for n in run_node.children] == ["worker: delegate · running"]
        await wait_for(lambda: "holding" in _pane(tmux_socket, "worker"), timeout=15)

        # The person's cancel: the worker's turn is interrupted (the lane process got the
        # Ctrl-C and keeps running), the run ends, and the tree empties.
        await pilot.press("f7")
        await wait_for(lambda: "interrupted by the cockpit" in _pane(tmux_socket, "worker"),
                       timeout=15)
        await wait_for(lambda: not tree.runs and not tree.has_class("-active"), timeout=15)
        result = await call(socket, token, "result", {"run": run}, timeout=30)
        assert result["state"] == "interrupted", result
        await wait_for(lambda: sup.lanes["worker"].state == "ready", timeout=15)
        assert sup.lanes["worker"].harness is not None

        # With no run left, the key says so instead of doing anything.
        await pilot.press("f7")
        await pilot.pause()
    # Quitting closes the control server and removes its socket (lanes stay in tmux).
    assert not socket.exists()
