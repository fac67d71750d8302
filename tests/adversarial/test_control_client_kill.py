"""Attack: a lane floods its pane while the session's tmux control client is killed, again
and again, to break the promise that a control client's end costs memory nothing beyond
the stream's cap and costs the other lanes nothing; and, with a user hook that detaches
every client as it attaches, the promise that re-attaching is bounded (no endless loop of
`tmux -C` processes) and that giving up is not reported as the lanes' death.

The relay re-attaches after each kill and carries the streams on; output that arrives
while a gap is being filled is held aside. Both the retained text and the held output
must stay within the stream's limit (`PaneStream.limit`, set small here), the flooding
lane's stream must carry on (never closed, its pid unchanged), and a second lane in the
same session must answer after every kill. Real tmux on a private socket, real lanes.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.harnesses.command import CommandHarness
from laneboard.harnesses.tmux_capture import REVIVE_ATTEMPTS, REVIVE_BURST
from laneboard.harnesses.tmux_control import PaneStream
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.tmux import async_wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

LIMIT = 200_000
"""Characters a stream retains in this test (the relay's default is 4,000,000)."""

# Floods bursts of numbered lines until the stop file exists (at most ~40 MB), ignoring
# Ctrl-C (the repetition watchdog may interrupt it); paced in bursts so one test does not
# take a whole core of a shared machine.
FLOOD = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = sys.argv[1]
    n = 0
    while not os.path.exists(stop) and n < 600_000:
        os.write(1, "".join(f"flood {n + i:07d} {(n + i) * 7919 % 100003:05d} {'y' * 40}\\n"
                            for i in range(500)).encode())
        n += 500
        time.sleep(0.005)
    print("FLOOD DONE", flush=True)
    signal.pause()
    """
)

REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)


def control_clients(socket: str) -> set[int]:
    """Pids of the `tmux -C` clients on `socket` (this test's private server only)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            words = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if words[0].endswith(b"tmux") and socket.encode() in words and b"-C" in words:
            found.add(int(entry))
    return found


def flood_stream(sup: Supervisor) -> PaneStream:
    harness = sup.lanes["flood"].harness
    assert isinstance(harness, CommandHarness) and harness.stream is not None
    return harness.stream


def counters(text: str) -> list[int]:
    """The numbers of the whole flood lines in `text` (the first, maybe cut, is left out)."""
    lines = text.replace("\r\n", "\n").split("\n")[1:-1]
    return [int(line.split()[1]) for line in lines if line.startswith("flood ")]


def bounded(stream: PaneStream) -> bool:
    """The stream's cap holds: retained text, and output held behind a gap fill."""
    retained = stream.position - stream.start
    held = stream._held_size
    return retained <= stream.limit + 4096 and held <= stream.limit


async def test_flood_while_the_client_is_killed_stays_bounded(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "flood.py").write_text(FLOOD)
    (tmp_path / "repl.py").write_text(REPL)
    stop = tmp_path / "stop"
    py = sys.executable
    text = f"""\
version: 1
lanes:
  flood:
    role: helper
    harness: command
    command: [{py}, -u, {tmp_path / 'flood.py'}, {stop}]
    fence: full  # it reads the test's stop file, outside any sandbox's view
  echo:
    role: helper
    harness: command
    command: [{py}, -u, {tmp_path / 'repl.py'}]
    ready: "READY>\\\\s*\\\\Z"
"""
    sup = Supervisor(parse_config(text.encode(), "cfg.yaml"), workspace=tmp_path)
    sup.relay_for(sup.lanes["flood"]).buffer_limit = LIMIT
    try:
        await sup.start(["flood", "echo"])
        pids = {lane: sup.lanes[lane].pid for lane in ("flood", "echo")}
        stream = flood_stream(sup)
        assert stream.limit == LIMIT
        await async_wait_until(lambda: stream.position > 4 * LIMIT, timeout=60)
        killed: set[int] = set()
        for n in range(4):
            clients = control_clients(tmux_socket)
            assert len(clients) == 1, clients
            (client,) = clients
            before, gaps = stream.position, stream.gaps
            os.kill(client, signal.SIGKILL)
            killed.add(client)
            await async_wait_until(
                lambda: bool(control_clients(tmux_socket) - killed) and not stream.suspended,
                timeout=60,
            )
            assert bounded(stream), (stream.position - stream.start, stream._held_size)
            if stream.gaps == gaps:
                # filled, not counted: the lines run on with none lost or doubled
                numbers = counters(stream.text_since(stream.start))
                assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), n
            # the flood goes on through the successor, and the other lane answers
            await async_wait_until(lambda: stream.position > before + LIMIT, timeout=60)  # noqa: B023
            assert bounded(stream) and not stream.closed
            echo = await sup.send("echo", f"kill {n}", timeout=60)
            assert echo.state == "done" and f"echo: kill {n}" in echo.reply, echo
        print(f"gaps filled: {stream.refilled} characters; gaps counted: {stream.gaps}")
        stop.touch()
        await async_wait_until(lambda: "FLOOD DONE" in stream.text_since(stream.start), timeout=60)
        assert bounded(stream) and not stream.closed
        for lane in ("flood", "echo"):
            rt = sup.lanes[lane]
            assert rt.state not in ("failed", "restarting") and rt.restarts == 0, (
                lane, rt.state, rt.last_error,
            )  # fmt: skip
            assert rt.pid == pids[lane]
    finally:
        stop.touch()
        await sup.stop_all()
        await sup.close()


@pytest.mark.parametrize(
    ("hook", "gives_up"),
    [
        ("client-attached", "no successor after"),  # each successor fails to start
        ("after-refresh-client", "times within"),  # each starts, then ends at once
    ],
)
async def test_a_hook_that_detaches_every_client_is_not_fought_for_ever(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, hook: str, gives_up: str,
) -> None:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "repl.py").write_text(REPL)
    text = f"""\
version: 1
lanes:
  echo:
    role: helper
    harness: command
    command: [{sys.executable}, -u, {tmp_path / 'repl.py'}]
    ready: "READY>\\\\s*\\\\Z"
"""
    sup = Supervisor(parse_config(text.encode(), "cfg.yaml"), workspace=tmp_path)
    caplog.set_level(logging.WARNING, logger="laneboard.harnesses.tmux_capture")
    try:
        await sup.start(["echo"])
        rt = sup.lanes["echo"]
        harness, pid = rt.harness, rt.pid
        assert isinstance(harness, CommandHarness) and harness.stream is not None
        stream = harness.stream
        subprocess.run(
            ["tmux", "-L", tmux_socket, "set-hook", "-g", hook, "detach-client"],
            check=True,
        )
        (client,) = control_clients(tmux_socket)
        os.kill(client, signal.SIGKILL)
        await async_wait_until(lambda: stream.closed, timeout=180)
        tries = [r for r in caplog.records if "re-attaching" in r.getMessage()]
        assert 1 <= len(tries) <= REVIVE_BURST + REVIVE_ATTEMPTS, len(tries)
        assert any(gives_up in r.getMessage() for r in caplog.records)
        assert not control_clients(tmux_socket)  # none left behind
        # giving up on the stream is not the lane's death
        assert not stream.dead and rt.harness is harness and rt.pid == pid
        assert rt.state == "ready" and rt.restarts == 0, (rt.state, rt.last_error)
        assert await sup.relay_for(rt).is_alive(harness.pane_id)
        # once the hook is gone, the lane's next turn opens a fresh stream and answers
        subprocess.run(["tmux", "-L", tmux_socket, "set-hook", "-gu", hook], check=True)
        back = await sup.send("echo", "back again", timeout=60)
        assert back.state == "done" and "echo: back again" in back.reply, back
        assert harness.stream is not stream and not harness.stream.closed
        assert rt.pid == pid and rt.restarts == 0
    finally:
        await sup.stop_all()
        await sup.close()
