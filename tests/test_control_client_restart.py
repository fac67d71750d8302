"""A session's tmux control client that ends is not a lane that died.

Real tmux on a private socket, real command lanes under the supervisor. The `tmux -C`
client this test's server spawned (found by its socket in /proc) is killed in the middle
of a lane's turn: the relay attaches a successor, the lane's stream carries on (what the
lane wrote while no client was attached is filled in from the pane's history), the turn
ends with the whole answer, the lane's pid is unchanged and no restart is counted, and a
second lane of the same session answers as before. Killed more often than the lanes'
start limit: still no lane fails. The lane's own process killed: that IS an exit. A lane
on another host (a real sshd): the tmux -C there killed, the relay re-attaches over the
same link and the link's own reconnect (re-adoption) never acts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.harnesses import ansi
from laneboard.harnesses.command import CommandHarness
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.harnesses.tmux_control import PaneStream
from laneboard.harnesses.tmux_control_gap import gap_text
from laneboard.lanes.events import LaneErrored
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until, wait_until
from tests.test_remote_supervisor import config_text, remote_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.tmux

# Answers each line in two parts; between them it waits for the gate file the test makes
# (so the test knows the answer is half written), and after the answer it leaves a
# marker file (so the test knows the lane wrote it all).
GATED = textwrap.dedent(
    """
    import os, sys, time
    gate = sys.argv[1]
    print("READY>", flush=True)
    for line in sys.stdin:
        word = line.strip()
        for i in range(30):
            print(f"{word} part1 line {i}", flush=True)
        while not os.path.exists(gate):
            time.sleep(0.02)
        os.remove(gate)
        for i in range(30):
            print(f"{word} part2 line {i}", flush=True)
        print("READY>", flush=True)
        open(gate + ".written", "w").close()
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


def config(tmp: Path) -> bytes:
    py = sys.executable
    text = f"""\
version: 1
lanes:
  gated:
    role: helper
    harness: command
    command: [{py}, -u, {tmp / 'gated.py'}, {tmp / 'gate'}]
    ready: "READY>\\\\s*\\\\Z"
    fence: full  # it reads and removes the test's gate file, outside any sandbox's view
    restart: {{backoff_s: 0.05, burst: 3, interval_s: 60}}
  echo:
    role: helper
    harness: command
    command: [{py}, -u, {tmp / 'repl.py'}]
    ready: "READY>\\\\s*\\\\Z"
    restart: {{backoff_s: 0.05, burst: 3, interval_s: 60}}
"""
    return text.encode()


@pytest.fixture
def lanes_dir(tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "gated.py").write_text(GATED)
    (tmp_path / "repl.py").write_text(REPL)
    return tmp_path


def control_clients(socket: str) -> set[int]:
    """Pids of the `tmux -C` clients on `socket` (this test's private server only)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        words = cmdline.split(b"\0")
        if words[:1] and words[0].endswith(b"tmux") and socket.encode() in words and b"-C" in words:
            found.add(int(entry))
    return found


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True
    ).stdout


def lane_stream_or_none(sup: Supervisor, lane: str) -> PaneStream | None:
    harness = sup.lanes[lane].harness
    return harness.stream if isinstance(harness, CommandHarness) else None


def lane_stream(sup: Supervisor, lane: str) -> PaneStream:
    harness = sup.lanes[lane].harness
    assert isinstance(harness, CommandHarness) and harness.stream is not None
    return harness.stream


async def kill_client(socket: str, *, before: set[int] | None = None) -> int:
    """SIGKILL the session's one control client; returns its pid."""
    clients = control_clients(socket)
    assert len(clients) == 1, clients
    (pid,) = clients
    if before is not None:
        assert pid not in before  # a successor, not the one killed before
    os.kill(pid, signal.SIGKILL)
    return pid


async def successor(socket: str, killed: set[int]) -> None:
    """Wait until a new control client runs (the relay's re-attach)."""
    await async_wait_until(lambda: bool(control_clients(socket) - killed), timeout=30)


async def test_killed_client_mid_turn_the_turn_completes(lanes_dir: Path, tmux_socket: str) -> None:
    loaded = parse_config(config(lanes_dir), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lanes_dir)
    errors: list[LaneErrored] = []
    try:
        await sup.start(["gated", "echo"])
        rt = sup.lanes["gated"]
        pid = rt.pid
        assert rt.state == "ready" and pid
        stream = lane_stream(sup, "gated")
        watcher = asyncio.create_task(_collect(sup, errors))
        turn = asyncio.create_task(sup.send("gated", "alpha", timeout=120))
        await async_wait_until(
            lambda: "alpha part1 line 29" in ansi.strip(stream.text_since(0)), timeout=30
        )
        # Kill the client, and let the lane write the rest of its answer while none is
        # attached: these waits BLOCK the event loop on purpose (conditions with a
        # deadline), so the relay cannot re-attach before the lane has written it all and
        # the second half can only come from the pane's history.
        client = await kill_client(tmux_socket)
        wait_until(lambda: str(client) not in _tmux(tmux_socket, "list-clients", "-F",
                                                     "#{client_pid}"), timeout=30)  # fmt: skip
        (lanes_dir / "gate").touch()
        wait_until((lanes_dir / "gate.written").exists, timeout=30)

        result = await asyncio.wait_for(turn, 120)
        assert result.state == "done", (result.state, result.error)
        for part in ("part1", "part2"):
            for i in range(30):
                assert f"alpha {part} line {i}" in result.reply, (part, i, result.reply)
        assert result.reply.count("alpha part2 line 7") == 1  # filled once, not twice
        assert stream.refilled > 0 and stream.gaps == 0 and not stream.closed
        assert rt.pid == pid and rt.restarts == 0 and rt.state == "ready"
        await successor(tmux_socket, {client})
        assert len(control_clients(tmux_socket)) == 1
        assert not [e for e in errors if e.lane == "gated"]

        # the same stream goes on through the successor, and the other lane is unaffected
        (lanes_dir / "gate").touch()
        again = await sup.send("gated", "beta", timeout=60)
        assert again.state == "done"
        assert "beta part2 line 29" in again.reply and "alpha" not in again.reply
        echo = await sup.send("echo", "still here", timeout=60)
        assert echo.state == "done" and "echo: still here" in echo.reply
        assert sup.lanes["echo"].restarts == 0
        watcher.cancel()
    finally:
        await sup.stop_all()
        await sup.close()


async def _collect(sup: Supervisor, errors: list[LaneErrored]) -> None:
    async for ev in sup.subscribe():
        if isinstance(ev, LaneErrored):
            errors.append(ev)


async def test_client_killed_more_often_than_the_start_limit(
    lanes_dir: Path, tmux_socket: str
) -> None:
    loaded = parse_config(config(lanes_dir), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lanes_dir)
    errors: list[LaneErrored] = []
    try:
        await sup.start(["gated", "echo"])
        pids = {lane: sup.lanes[lane].pid for lane in ("gated", "echo")}
        watcher = asyncio.create_task(_collect(sup, errors))
        killed: set[int] = set()
        for n in range(5):  # the lanes' start limit (burst) is 3
            killed.add(await kill_client(tmux_socket, before=killed))
            await successor(tmux_socket, killed)
            echo = await sup.send("echo", f"round {n}", timeout=60)
            assert echo.state == "done" and f"echo: round {n}" in echo.reply, echo
        (lanes_dir / "gate").touch()
        gated = await sup.send("gated", "gamma", timeout=60)
        assert gated.state == "done" and "gamma part2 line 29" in gated.reply
        for lane in ("gated", "echo"):
            rt = sup.lanes[lane]
            assert rt.state == "ready" and rt.restarts == 0 and rt.pid == pids[lane], (
                lane, rt.state, rt.detail, rt.last_error,
            )  # fmt: skip
            stream = lane_stream(sup, lane)
            assert not stream.closed and stream.gaps == 0
        assert not errors
        watcher.cancel()
    finally:
        await sup.stop_all()
        await sup.close()


async def test_a_lane_that_dies_while_its_client_is_away_is_an_exit(
    lanes_dir: Path, tmux_socket: str
) -> None:
    loaded = parse_config(config(lanes_dir), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lanes_dir)
    try:
        await sup.start(["gated", "echo"])
        rt = sup.lanes["gated"]
        pid = rt.pid
        assert pid
        stream = lane_stream(sup, "gated")
        turn = asyncio.create_task(sup.send("gated", "delta", timeout=120))
        await async_wait_until(
            lambda: "delta part1 line 29" in ansi.strip(stream.text_since(0)), timeout=30
        )
        # the client and the lane's process (the pane's own process, as
        # test_supervisor kills it) die together; the re-attached client must not hide it
        await kill_client(tmux_socket)
        os.kill(pid, signal.SIGKILL)
        result = await asyncio.wait_for(turn, 120)
        assert result.state == "failed" and "exited during the turn" in (result.error or ""), (
            result.state, result.error,
        )  # fmt: skip
        # the supervisor sees the death too: a lane with a writable fence that died
        # mid-turn is failed, not re-run (its in-flight prompt may have half-written)
        await async_wait_until(lambda: rt.state == "failed", timeout=60)
        assert "died mid-turn" in (rt.last_error or ""), (rt.detail, rt.last_error)
        assert not lane_stream_or_none(sup, "gated")
        echo = await sup.send("echo", "unaffected", timeout=60)
        assert echo.state == "done" and "echo: unaffected" in echo.reply
        assert sup.lanes["echo"].restarts == 0
    finally:
        await sup.stop_all()
        await sup.close()


@pytest.mark.slow
async def test_remote_lane_client_killed_over_a_live_link(
    sshd: Sshd, remote_env: Path, tmux_socket: str  # noqa: F811
) -> None:
    tmp = remote_env
    (tmp / "gated.py").write_text(GATED)
    gated = textwrap.indent(
        textwrap.dedent(
            f"""\
            gated:
              role: helper
              harness: command
              command: [{sys.executable}, -u, {tmp / 'gated.py'}, {tmp / 'gate'}]
              ready: "READY>\\\\s*\\\\Z"
              fence: full
              host: box
            """
        ),
        "  ",
    )
    cfg = config_text(sshd, tmp, gated)
    sup = Supervisor(parse_config(cfg.encode(), "cfg.yaml"), workspace=tmp)
    try:
        await sup.start(["gated", "echo"])
        rt = sup.lanes["gated"]
        assert rt.state == "ready", rt.last_error
        harness, pid = rt.harness, rt.pid
        link = sup.relays.link("box")
        reconnects = link.reconnects
        stream = lane_stream(sup, "gated")
        turn = asyncio.create_task(sup.send("gated", "remote", timeout=120))
        await async_wait_until(
            lambda: "remote part1 line 29" in ansi.strip(stream.text_since(0)), timeout=60
        )
        # the tmux -C on the host (there a plain tmux process; here a local ssh runs it)
        client = await kill_client(tmux_socket)
        wait_until(lambda: str(client) not in _tmux(tmux_socket, "list-clients", "-F",
                                                     "#{client_pid}"), timeout=30)  # fmt: skip
        (tmp / "gate").touch()
        wait_until((tmp / "gate.written").exists, timeout=30)
        result = await asyncio.wait_for(turn, 120)
        assert result.state == "done", (result.state, result.error)
        for part in ("part1", "part2"):
            for i in range(30):
                assert f"remote {part} line {i}" in result.reply, (part, i, result.reply)
        assert result.reply.count("remote part2 line 7") == 1
        assert stream.refilled > 0 and stream.gaps == 0 and not stream.closed
        # the relay carried the stream on: the link's re-adoption never ran
        assert rt.harness is harness and rt.history.adoptions == 0 and link.reconnects == reconnects
        assert rt.pid == pid and rt.restarts == 0 and rt.state == "ready"
        echo = await sup.send("echo", "over the link", timeout=60)
        assert echo.state == "done" and "echo: over the link" in echo.reply
    finally:
        await sup.close()


@pytest.mark.parametrize("kill", ["kill-session", "kill-server"])
async def test_a_stream_ends_when_its_session_or_server_is_gone(
    relay: TmuxRelay, tmp_path: Path, tmux_socket: str, kill: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The other side of the promise: a stream does end when there is nothing to re-attach
    to, at once (asked of a tmux process), not after the tries run out."""
    caplog.set_level(logging.WARNING, logger="laneboard.harnesses.tmux_capture")
    (tmp_path / "repl.py").write_text(REPL)
    other = await relay.create_lane_window("keep", "other", [sys.executable, "-u",
                                           str(tmp_path / "repl.py")], cwd=tmp_path)  # fmt: skip
    lane = await relay.create_lane_window(
        "ws", "repl", [sys.executable, "-u", str(tmp_path / "repl.py")], cwd=tmp_path
    )
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: "READY>" in stream.text_since(0), timeout=30)
    _tmux(tmux_socket, kill, *(["-t", "=ws"] if kill == "kill-session" else []))
    await async_wait_until(lambda: stream.closed, timeout=30)
    assert not [r for r in caplog.records if "re-attach failed" in r.getMessage()]
    if kill == "kill-session":  # the other session's lane streams on
        kept = await relay.stream(other.pane_id)
        assert not kept.closed and await relay.is_alive(other.pane_id)


# -- the gap's alignment, on what tmux really prints -------------------------------------


def test_gap_text_continues_after_the_streams_own_text() -> None:
    captured = "lb$ run\nalpha 1\nalpha 2\nalpha 3\nREADY>\n\n\n"
    assert gap_text("lb$ run\r\nalpha 1\r\nal", captured, 6) == "pha 2\r\nalpha 3\r\nREADY>"
    assert gap_text("lb$ run\r\nalpha 1\r\n", captured, 0) == "alpha 2\r\nalpha 3\r\nREADY>\r\n"
    assert gap_text("", captured, 0) == "lb$ run\r\nalpha 1\r\nalpha 2\r\nalpha 3\r\nREADY>\r\n"
    # nothing new: nothing added
    assert gap_text("lb$ run\r\nalpha 1\r\nalpha 2\r\nalpha 3\r\nREADY>", captured, 6) == ""
    # the stream's tail is not in the history (it scrolled out of it): unknown, not guessed
    assert gap_text("something else\r\n", captured, 0) is None
    # a stream of escape sequences only: nothing to find its end by, unknown
    assert gap_text("\x1b[?1049h\x1b[H\x1b[2J", captured, 0) is None
