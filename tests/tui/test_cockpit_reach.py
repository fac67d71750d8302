"""The cockpit reaches the person: it notifies (bell + OSC 9/777 through Textual's own
driver) when a lane fails, seen from the master side of a real pty the real cockpit
process runs on; and its interrupt key stops a real command lane's busy turn through the
harness (Ctrl-C in the lane's tmux pane), the lane staying alive."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import textwrap
from pathlib import Path

import pytest

from laneboard.harnesses.ansi import strip
from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import make_app
from laneboard.tui.palette import key_for
from laneboard.tui.screens.main import MainScreen
from tests.fixtures.tmux import wait_until
from tests.test_notify import PtyReader
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.tmux

# A REPL whose "sleep" turn never ends by itself; Ctrl-C ends it and it says so.
SLEEPY = textwrap.dedent(
    """
    import sys, time
    print("READY>", flush=True)
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        try:
            if line.strip() == "sleep":
                print("sleeping", flush=True)
                time.sleep(3600)
            print("answer: " + line.strip()[::-1], flush=True)
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
        print("READY>", flush=True)
    """
)


@pytest.mark.slow
def test_cockpit_rings_and_writes_osc_when_a_lane_fails(tmp_path: Path, tmux_socket: str) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\n"
        "lanes:\n"
        "  flaky:\n"
        "    role: helper\n"
        "    harness: command\n"
        "    command: [sh, -c, 'exit 3']\n"
        "    restart: {backoff_s: 0.01, burst: 2, interval_s: 60}\n"
        "notifications:\n"
        "  desktop: false\n"
    )
    workspace = tmp_path / "ws"
    workspace.mkdir()
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket, "TERM": "xterm-256color",
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    term = PtyReader()
    fcntl.ioctl(term.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard.cli", "--config", str(cfg)],
        cwd=workspace, env=env, stdin=term.slave, stdout=term.slave, stderr=term.slave,
        start_new_session=True,
    )
    try:
        wait_until(lambda: b"777;notify;laneboard: flaky failed" in term.data, timeout=40)
        data = term.data
        osc9 = data.index(b"\x1b]9;laneboard: flaky failed")
        assert b"\x07" in data[osc9:osc9 + 400]  # the OSC string is whole, then the bell
        assert b"\x1b]777;notify;laneboard: flaky failed;" in data
        assert b"\x1bPtmux;" not in data  # not inside tmux: no passthrough wrapping
    finally:
        if proc.poll() is None:
            os.write(term.master, b"\x11")  # ctrl+q: quit (lanes stay in tmux)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)
        term.close()


def _sleepy_config(tmp_path: Path) -> Path:
    repl = tmp_path / "sleepy.py"
    repl.write_text(SLEEPY)
    cfg = tmp_path / "sleepy.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        version: 1
        lanes:
          main:
            role: orchestrator
            harness: command
            command: [{sys.executable}, -u, {repl}]
            ready: "READY>\\\\s*\\\\z"  # the bottom of the screen, not an old line
        routing:
          default: main
        """))
    return cfg


async def test_interrupt_key_stops_a_busy_command_lane(
    tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    cfg = _sleepy_config(tmp_path)
    workspace = tmp_path / "demo"
    workspace.mkdir()
    sup = Supervisor(load_file(str(cfg)), workspace=workspace)
    app = make_app(load_file(str(cfg)), sup, motion=False)
    key = key_for(MainScreen.BINDINGS, "interrupt")
    assert key  # the hint the footer and the palette show is derived from BINDINGS
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.main_screen
            rt = sup.lanes["main"]
            await wait_for(lambda: rt.state == "ready", timeout=20)

            def pane() -> str:
                return strip("\n".join(screen.pane.lines))

            await pilot.press(*"sleep", "enter")
            await wait_for(lambda: "sleeping" in pane() and rt.state == "busy", timeout=20)
            await pilot.press(key.lower())  # key_for spells it as a person reads it: F6
            await wait_for(lambda: "INTERRUPTED" in pane(), timeout=20)
            await wait_for(lambda: "INTERRUPTED" in pane(), timeout=20)
            await wait_for(lambda: rt.state == "ready", timeout=20)
            assert rt.harness is not None and await rt.harness.health()
            await pilot.press(*"abc", "enter")  # the lane still answers afterwards
            await wait_for(lambda: "answer: cba" in pane(), timeout=20)
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()
