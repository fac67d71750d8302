"""A prompt sent while its lane is still starting waits for the start, and starts nothing.

Found through the browser cockpit: a prompt typed as the cockpit opened (its lanes still
starting) failed with "lane 'x': not started", or started the lane a second time beside
the start already under way. Real tmux on a private socket, a real command lane.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.tmux import async_wait_until

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


def _config(tmp: Path) -> bytes:
    (tmp / "repl.py").write_text(REPL)
    return (
        "version: 1\nlanes:\n  echo:\n    role: helper\n    harness: command\n"
        f"    command: [{sys.executable}, -u, {tmp / 'repl.py'}]\n"
        '    ready: "READY>\\\\s*$"\n'
    ).encode()


async def test_send_during_start_waits_and_starts_once(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    loaded = parse_config(_config(tmp_path), "lanes.yaml")
    sup = Supervisor(loaded, workspace=tmp_path)
    try:
        starting = asyncio.create_task(sup.start(["echo"]))
        rt = sup.lanes["echo"]
        await async_wait_until(lambda: rt.state == "starting", timeout=10)
        result = await sup.send("echo", "while starting", timeout=60)
        await starting
        assert "echo: while starting" in result.reply
        assert len(rt.history.starts) == 1, "the send started the lane a second time"
        windows = await sup.relays.local.list_lanes(sup.session)
        assert [w.lane for w in windows].count("echo") == 1
    finally:
        await sup.close()
