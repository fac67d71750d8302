"""Notifications: a real pty for the bell/OSC bytes, a real hook program that records its
environment, `laneboard up --headless` in a pty notifying for a lane that fails, and the
screen watch classifying a real tmux pane that shows a permission dialog after nobody
from laneboard typed into it."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from laneboard.config.models import NotificationEvents, NotificationsConfig
from laneboard.harnesses.claude import screen as claude_screen
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.lanes.events import FenceTripped, LaneStateChanged, LaneUsageUpdated
from laneboard.lanes.notify import Notifier, clean_text, terminal_writer
from laneboard.lanes.screen_watch import watch_screen
from tests.fixtures.tmux import async_wait_until, wait_until

HOOK = """\
import json, os, sys
keys = ("LANEBOARD_LANE", "LANEBOARD_EVENT", "LANEBOARD_SUMMARY")
record = {"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in keys}}
with open(sys.argv[1], "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\\n")
"""


class PtyReader:
    """The master side of a real pty, read in a thread: what a terminal would receive."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk

    def close(self) -> None:
        os.close(self.slave)
        self._thread.join(timeout=5)
        os.close(self.master)


def records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_waiting_lane_rings_writes_osc_and_runs_the_hook(tmp_path: Path) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    out = tmp_path / "hook.jsonl"
    term = PtyReader()
    try:
        writer = terminal_writer(term.slave)
        assert writer is not None
        cfg = NotificationsConfig(command=[sys.executable, str(hook), str(out)], desktop=False)
        notifier = Notifier(cfg, write=writer, environ={"PATH": os.environ["PATH"]})
        sent = notifier.handle(LaneStateChanged("review", "waiting", "Do you want to proceed?"))
        assert sent is not None and sent.kind == "waiting"
        await async_wait_until(lambda: records(out), timeout=15)
        await notifier.close()
        wait_until(lambda: b"\x07" in term.data and b"777;notify" in term.data, timeout=5)
    finally:
        term.close()
    rec = records(out)[0]
    assert rec["argv"] == [str(out)]  # nothing from the lane became an argument
    assert rec["env"] == {
        "LANEBOARD_LANE": "review",
        "LANEBOARD_EVENT": "waiting",
        "LANEBOARD_SUMMARY": "Do you want to proceed?",
    }
    assert b"\x1b]9;laneboard: review needs you: Do you want to proceed?\x07" in term.data
    assert b"\x1b]777;notify;laneboard: review needs you;Do you want to proceed?\x07" in term.data
    assert b"\x1bPtmux;" not in term.data  # not inside tmux: no passthrough wrapper


def test_inside_tmux_osc_goes_through_passthrough_and_the_bell_plain() -> None:
    written: list[str] = []
    notifier = Notifier(NotificationsConfig(desktop=False), write=written.append,
                        environ={"TMUX": "/tmp/tmux-0/default,1,0", "PATH": ""})
    notifier.handle(FenceTripped("coder", "denied: git push --force"))
    (seq,) = written
    assert seq.startswith("\x1bPtmux;\x1b\x1b]9;laneboard: coder hit a fence")
    assert seq.count("\x1bPtmux;") == 2 and seq.count("\x1b\\") == 2
    assert seq.endswith("\x07")  # the bell, outside passthrough: tmux forwards bells itself
    # inside the wrapper every ESC is doubled, so tmux hands the OSC on unchanged
    inner = seq.split("\x1bPtmux;")[1].split("\x1b\\")[0]
    assert "\x1b\x1b]9;" in inner and "\x1b]" not in inner.replace("\x1b\x1b]", "")


def test_debounce_quiet_and_per_event_switches() -> None:
    now = [100.0]
    written: list[str] = []
    notifier = Notifier(NotificationsConfig(desktop=False, debounce_s=10), write=written.append,
                        environ={"PATH": ""}, clock=lambda: now[0])
    waiting = LaneStateChanged("main", "waiting", "dialog")
    assert notifier.handle(waiting) is not None
    assert notifier.handle(waiting) is None  # same lane, same kind, within 10 s
    assert notifier.handle(LaneStateChanged("coder", "waiting", "dialog")) is not None  # other lane
    assert notifier.handle(LaneStateChanged("main", "failed", "boom")) is not None  # other kind
    now[0] += 10.5
    assert notifier.handle(waiting) is not None
    assert notifier.handle(LaneStateChanged("main", "ready", "")) is None  # not a notice
    assert notifier.handle(LaneUsageUpdated("main", None, 1)) is None  # type: ignore[arg-type]
    assert len(written) == 4

    quiet = Notifier(NotificationsConfig(quiet=True), write=written.append, environ={"PATH": ""})
    assert quiet.handle(waiting) is None
    no_fence = Notifier(
        NotificationsConfig(desktop=False, events=NotificationEvents(fence=False)),
        write=written.append, environ={"PATH": ""},
    )
    assert no_fence.handle(FenceTripped("main", "denied")) is None
    assert no_fence.handle(waiting) is not None


def test_clean_text_leaves_nothing_a_terminal_would_act_on() -> None:
    hostile = "a\x1b]0;pwned\x07b\x1b[31mc\u202ed\x9b2Je;f\r\ng\x00"
    cleaned = clean_text(hostile)
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in cleaned)
    assert "\u202e" not in cleaned and ";" not in cleaned
    assert len(clean_text("x" * 1000)) == 200


def test_no_terminal_writer_for_a_pipe(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        assert terminal_writer(w) is None
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.tmux
def test_up_headless_notifies_when_a_lane_fails(tmp_path: Path, tmux_socket: str) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    out = tmp_path / "hook.jsonl"
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
        f"  command: [{sys.executable}, {hook}, {out}]\n"
        "  desktop: false\n"
    )
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    term = PtyReader()
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard.cli", "up", "--headless", "--config", str(cfg)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=term.slave, stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: any(r["env"]["LANEBOARD_EVENT"] == "failed"  # type: ignore[index]
                               for r in records(out)), timeout=30)
        wait_until(lambda: b"777;notify;laneboard: flaky failed" in term.data, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        term.close()
    rec = next(r for r in records(out) if r["env"]["LANEBOARD_EVENT"] == "failed")  # type: ignore[index]
    assert rec["env"]["LANEBOARD_LANE"] == "flaky"  # type: ignore[index]
    assert b"\x07" in term.data


# A permission dialog as Claude Code 2.1.328 draws it (no input box, a question line).
DIALOG = """\
 Create file
 hello.txt
 Do you want to create hello.txt?
 ❯ 1. Yes
   2. No
 Esc to cancel
"""


@pytest.mark.tmux
async def test_screen_watch_sees_a_dialog_raised_outside_our_turns(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    (tmp_path / "dialog.txt").write_text(DIALOG)
    lane = await relay.create_lane_window(
        "ws", "agent", ["sh", "-c", "read x; clear; cat dialog.txt; exec cat >/dev/null"],
        cwd=tmp_path,
    )
    stream = await relay.stream(lane.pane_id)
    reports: list[tuple[str, str]] = []
    watch = asyncio.create_task(watch_screen(
        relay, stream, claude_screen.classify, lambda s, d: reports.append((s, d)), lambda: False,
        interval=0.05,
    ))
    try:
        # a person types into the attached pane: laneboard drives no turn
        await relay.run("send-keys", "-t", lane.pane_id, "go", "Enter")
        await async_wait_until(lambda: ("waiting", "Do you want to create hello.txt?") in reports,
                               timeout=15)
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
