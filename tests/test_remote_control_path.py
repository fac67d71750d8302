"""A remote lane's send and status through the control client's SSH channel (issue 17).

Real parts as in test_remote_lanes.py: a real sshd on 127.0.0.1, a real ControlMaster, a
real tmux server "on the remote host" reached only through ssh, a real lane.

What they hold: once the control client is attached, a paste (line breaks, quotes, `;`,
`\\`, `$`, unicode), keys, screen captures, pane queries and the lane list need no new ssh
session at all — proved by making every new one fail (the relay's tmux command then names
a program that does not exist on the host) — and the text arrives byte for byte. Before,
every one of those commands was an `ssh … tmux …` session of its own (~0.5 s each).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from laneboard.harnesses.ssh_link import SshLink
from laneboard.harnesses.tmux import TmuxError
from tests.fixtures.sshd import sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until
from tests.test_remote_lanes import _relay, link, remote_socket  # noqa: F401  (fixtures)
from tests.test_tmux_relay import READER, tricky_prompt

pytestmark = pytest.mark.slow


async def test_remote_send_and_status_use_the_open_channel(
    link: SshLink,  # noqa: F811
    remote_socket: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(
        "LANEBOARD_TMUX_SOCKET", raising=False
    )  # the remote socket, not a run-wide one
    relay = _relay(link, remote_socket, tmp_path)
    script, out = tmp_path / "reader.py", tmp_path / "received.bin"
    script.write_text(READER)
    prompt = tricky_prompt(6)
    try:
        window = await relay.create_lane_window(
            "ws", "reader", [sys.executable, str(script), str(out), "cooked", "7"],
            cwd=str(tmp_path),
        )  # fmt: skip
        stream = await relay.stream(window.pane_id)
        await async_wait_until(lambda: "READY" in stream.text_since(0), timeout=15)
        pane = window.pane_id
        argv, relay.tmux_argv = relay.tmux_argv, ["/nonexistent/laneboard-test-no-tmux"]
        try:
            # a new ssh session would now fail: only the open channel can answer
            with pytest.raises(TmuxError):
                await relay.run("display-message", "-p", "x")
            assert await relay.is_alive(pane)
            assert isinstance(await relay.pane_pid(pane), int)
            assert [w.lane for w in await relay.list_lanes("ws")] == ["reader"]
            await relay.deliver(pane, prompt)
            await relay.send_keys(pane, "typed ; \\ $HOME 'q' ü", literal=True)
            await relay.send_keys(pane, "Enter")
            await async_wait_until(out.exists, timeout=15)
            assert "line 5:" in await relay.screen(pane)
        finally:
            relay.tmux_argv = argv
        assert out.read_bytes() == (prompt + "\n" + "typed ; \\ $HOME 'q' ü\n").encode()
    finally:
        await relay.kill_server()
