"""Promise under attack: a lane's own words (its summary) never run anything through the
notification hook or notify-send, and never put an escape sequence on the person's
terminal. The summary carries `$(touch canary)`, backticks, `;`, newlines, ESC sequences
(OSC 52 clipboard write, a title change, CSI screen clear), a BEL and C1 controls; the hook
is a real program that records its argv and environment, the terminal a real pty."""

from __future__ import annotations

import json
import os
import pty
import sys
import threading
from pathlib import Path

from laneboard.config.models import NotificationsConfig
from laneboard.lanes.events import FenceTripped, LaneStateChanged
from laneboard.lanes.notify import Notifier, terminal_writer
from tests.fixtures.tmux import async_wait_until

HOOK = """\
import json, os, sys
keys = ("LANEBOARD_LANE", "LANEBOARD_EVENT", "LANEBOARD_SUMMARY")
record = {"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in keys}}
with open(sys.argv[1], "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\\n")
"""


def hostile(canary: Path) -> str:
    return (
        f"done $(touch {canary}) `touch {canary}` ; touch {canary}\n"
        "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]0;owned title\x07\x1b[2J\x07\x9b31m"
        "\r\nline two\u202eevil\x00end"
    )


async def test_hostile_summary_runs_nothing_and_injects_no_escape(tmp_path: Path) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    out = tmp_path / "out.jsonl"
    canary = tmp_path / "canary"
    master, slave = pty.openpty()
    got = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    writer = terminal_writer(slave)
    assert writer is not None
    # notify-send is allowed too (when installed): it gets the text after `--`
    cfg = NotificationsConfig(command=[sys.executable, str(hook), str(out)], debounce_s=0)
    notifier = Notifier(cfg, write=writer, environ={"PATH": os.environ["PATH"]})
    try:
        for ev in (LaneStateChanged("main", "waiting", hostile(canary)),
                   FenceTripped("main", hostile(canary))):
            assert notifier.handle(ev) is not None
        await async_wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 2,
                               timeout=15)
        await notifier.close()
    finally:
        os.close(slave)
        reader.join(timeout=5)
        os.close(master)

    assert not canary.exists()
    for line in out.read_text().splitlines():
        rec = json.loads(line)
        assert rec["argv"] == [str(out)]
        summary = rec["env"]["LANEBOARD_SUMMARY"]
        assert "$(touch" in summary and "`touch" in summary  # kept as inert text
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in summary)
        assert "\u202e" not in summary and ";" not in summary
    # Only laneboard's own sequences reached the terminal: per notice one OSC 9, one
    # OSC 777 and one bell; none of the lane's (OSC 52, OSC 0, CSI 2J, C1 CSI).
    text = bytes(got)
    assert text.count(b"\x1b") == 4
    assert text.count(b"\x1b]9;laneboard: main ") == 2
    assert text.count(b"\x1b]777;notify;laneboard: main ") == 2
    assert text.count(b"\x07") == 6
    assert b"]52;" not in text and b"]0;" not in text and b"[2J" not in text
    assert b"\xc2\x9b" not in text
