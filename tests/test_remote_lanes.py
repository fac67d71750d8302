"""Remote lanes over SSH with real parts: a real sshd on 127.0.0.1 (tests/fixtures/sshd.py),
a real ControlMaster, a real tmux server on its own socket "on the remote host" (this
machine, reached only through ssh), a real command lane.

What they hold: one persistent link carries the tmux commands and the pushed control-mode
output; killing the link's master loses nothing — the lane's process keeps running and a
new link re-adopts it, scrollback included, without restarting it; a model server on the
remote loopback is reached through a forward laneboard opens and closes.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
from laneboard.harnesses.ssh_link import SshLink
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import PROMPT, async_wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def remote_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tmux socket name for the "remote" server, never the local relay's."""
    # $LANEBOARD_TMUX_SOCKET wins over a relay's configured socket; the test names its own
    monkeypatch.delenv("LANEBOARD_TMUX_SOCKET", raising=False)
    name = f"lb-remote-{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


@pytest.fixture
async def link(sshd: Sshd, tmp_path: Path) -> AsyncIterator[SshLink]:  # noqa: F811
    sshd.trust_host_key()
    ctl = tmp_path / "ctl"
    the_link = SshLink(sshd.target(), control_dir=ctl, connect_timeout=15)
    try:
        yield the_link
    finally:
        await the_link.close()


def _relay(link: SshLink, socket: str, tmp_path: Path) -> RemoteTmuxRelay:
    home = tmp_path / "lane-home"
    home.mkdir(exist_ok=True)
    return RemoteTmuxRelay(
        link, socket, remote_state_dir=str(tmp_path / "remote-state"),
        default_env={"SHELL": "/bin/sh", "HOME": str(home), "PS1": PROMPT, "ENV": ""},
    )  # fmt: skip


async def test_remote_lane_survives_a_dropped_link_and_is_readopted(
    link: SshLink, remote_socket: str, tmp_path: Path
) -> None:
    relay = _relay(link, remote_socket, tmp_path)
    window = await relay.create_lane_window(
        "ws", "echo", ["/bin/sh", "-i"], cwd=str(tmp_path),
        metadata={"harness": "command"},
    )  # fmt: skip
    stream = await relay.stream(window.pane_id)
    await async_wait_until(lambda: PROMPT in stream.text_since(0), timeout=15)
    mark = stream.position
    await relay.deliver(window.pane_id, "echo remote-$((6*7))", bracketed=False)
    # pushed over the channel by the control client, not polled
    await async_wait_until(lambda: "remote-42" in stream.text_since(mark), timeout=15)

    # the lane really runs under the remote tmux, on its own socket
    local = subprocess.run(
        ["tmux", "-L", remote_socket, "list-panes", "-a", "-F", "#{pane_id} #{pane_pid}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert window.pane_id in local
    lane_pid = window.pid
    assert lane_pid is not None

    # drop the link: kill the master ssh (a process this test's link started)
    master = link.master_pid
    assert master is not None
    os.kill(master, signal.SIGKILL)
    await async_wait_until(lambda: stream.closed, timeout=15)
    os.kill(lane_pid, 0)  # the lane's process is alive: the link never owned it

    # a new cockpit (new relay) over the same link re-adopts it: reconnect with backoff
    again = _relay(link, remote_socket, tmp_path)
    found = await again.find_lane("ws", "echo")
    assert found is not None and found.pid == lane_pid and not found.dead
    assert link.reconnects == 1 and link.master_pid not in (None, master)
    assert "remote-42" in await again.capture(found.pane_id)  # scrollback survived
    fresh = await again.stream(found.pane_id)
    mark = fresh.position
    await again.deliver(found.pane_id, "echo after-$((7*6))", bracketed=False)
    await async_wait_until(lambda: "after-42" in fresh.text_since(mark), timeout=15)

    await again.send_keys(found.pane_id, "exit", "Enter")

    async def finished() -> bool:
        return await again.exit_status(found.pane_id) is not None

    await async_wait_until(finished, timeout=15)
    assert await again.exit_status(found.pane_id) == 0  # read from the remote status file
    await again.kill_lane(found)
    await again.close()
    await relay.close()


async def test_one_master_carries_every_command(
    link: SshLink, remote_socket: str, tmp_path: Path
) -> None:
    """Many tmux calls, one SSH connection: sshd logs one accepted login."""
    relay = _relay(link, remote_socket, tmp_path)
    await relay.ensure_session("ws")
    for _ in range(5):
        assert await relay.server_running()
    await relay.list_lanes("ws")
    log = (tmp_path / "sshd" / "sshd.log").read_text()
    assert log.count("Accepted publickey") == 1, log
    await relay.close()


async def test_attach_argv_is_ssh_t_tmux_attach(link: SshLink, remote_socket: str,
                                                tmp_path: Path) -> None:
    relay = _relay(link, remote_socket, tmp_path)
    argv = relay.attach_argv("ws", "coder")
    assert argv[0] == "ssh" and "-t" in argv and "-S" in argv
    assert argv[-2] == link.target.destination
    # the remote shell reads back exactly tmux's argv
    assert shlex.split(argv[-1]) == [
        "tmux", "-u", "-L", remote_socket, "-f", "/dev/null",
        "select-window", "-t", "=ws:=coder", ";", "attach-session", "-t", "=ws",
    ]  # fmt: skip
    assert "StrictHostKeyChecking=yes" in argv


async def test_remote_model_server_reached_only_through_the_forward(link: SshLink) -> None:
    """A server on the host's loopback: laneboard opens a forward, talks, closes it."""
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    remote_port = server.sockets[0].getsockname()[1]
    try:
        local = await link.open_forward(remote_port)
        assert local != remote_port
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        writer.write(b"ping\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 10) == b"pong\n"
        writer.close()
        await link.close_forward(local)

        async def refused() -> bool:
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", local)
            except OSError:
                return True
            w.close()
            return False

        await async_wait_until(refused, timeout=10)
    finally:
        server.close()
        await server.wait_closed()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if await reader.readline() == b"ping\n":
        writer.write(b"pong\n")
        await writer.drain()
    writer.close()
