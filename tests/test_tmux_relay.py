"""The tmux relay against a real tmux server on a private socket."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from laneboard.errors import HarnessTimeout
from laneboard.harnesses import ansi
from laneboard.harnesses.tmux import LaneWindowError, TmuxRelay, resolve_socket, safe_session_name
from laneboard.harnesses.tmux_control import PaneStream, quote_command_arg, unescape_output
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.tmux

# A program that records exactly what it reads from its terminal. "cooked": the tty's line
# discipline is on, read until N line feeds. "raw": raw mode with bracketed paste enabled,
# read until the paste-end marker.
READER = r"""
import os, sys, termios, tty
out, mode, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = sys.stdin.fileno()
if mode == "raw":
    tty.setraw(fd)
    os.write(1, b"\x1b[?2004hREADY\r\n")
else:
    os.write(1, b"READY\n")
data = b""
while (b"\x1b[201~" not in data) if mode == "raw" else (data.count(b"\n") < lines):
    data += os.read(fd, 65536)
with open(out + ".tmp", "wb") as fh:
    fh.write(data)
os.rename(out + ".tmp", out)
"""


def tricky_prompt(lines: int = 40) -> str:
    out = []
    for i in range(lines):
        out.append(
            f"line {i}: 'single' \"double\" `backtick $(echo no)` $HOME ${{PATH}} \\n \\ "
            f"ünïcødé ✓ 日本語 🙂 {{brace}} ;semi; #hash %p \t tab ~tilde !bang"
        )
    return "\n".join(out)


async def start_reader(
    relay: TmuxRelay, tmp_path: Path, mode: str, lines: int = 0
) -> tuple[str, Path]:
    script = tmp_path / "reader.py"
    script.write_text(READER)
    out = tmp_path / f"received-{mode}.bin"
    lane = await relay.create_lane_window(
        "ws",
        f"reader-{mode}",
        [sys.executable, str(script), str(out), mode, str(lines)],
        cwd=tmp_path,
    )
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: "READY" in stream.text_since(0))
    return lane.pane_id, out


async def test_multiline_prompt_arrives_byte_for_byte(relay: TmuxRelay, tmp_path: Path) -> None:
    prompt = tricky_prompt(40)
    pane, out = await start_reader(relay, tmp_path, "cooked", lines=40)
    delivery = await relay.deliver(pane, prompt)
    assert delivery.submitted and not delivery.retried
    await async_wait_until(out.exists)
    # tmux pastes line feeds as carriage returns; the tty turns them (and Enter) back into \n
    assert out.read_bytes() == (prompt + "\n").encode()


async def test_100kb_prompt_arrives_byte_for_byte_as_bracketed_paste(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    base = tricky_prompt(8) + "\n"
    prompt = (base * (100_000 // len(base.encode()) + 1))[:100_000]
    assert len(prompt.encode()) >= 100_000 - 4
    pane, out = await start_reader(relay, tmp_path, "raw")
    await relay.deliver(pane, prompt, submit=False)
    await async_wait_until(out.exists, timeout=30)
    expected = b"\x1b[200~" + prompt.replace("\n", "\r").encode() + b"\x1b[201~"
    assert out.read_bytes() == expected


async def test_submit_key_is_retried_once_when_verify_fails(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    pane, _ = await start_reader(relay, tmp_path, "cooked", lines=99)
    stream = await relay.stream(pane)
    mark = stream.position

    def two_enters() -> bool:  # the cooked tty echoes each Enter as \r\n
        return stream.text_since(mark).count("\r\n") >= 2

    delivery = await relay.deliver(pane, "hello", verify=two_enters, verify_timeout=1.0)
    assert delivery.retried and delivery.verified

    with pytest.raises(HarnessTimeout, match="not submitted"):
        await relay.deliver(pane, "again", verify=lambda: False, verify_timeout=0.2)


async def test_output_events_arrive_in_order_and_complete(relay: TmuxRelay, tmp_path: Path) -> None:
    n = 20_000
    code = f"import sys\nfor i in range({n}): sys.stdout.write(f'line {{i}}\\n')\nsys.stdout.flush()\ninput()"
    lane = await relay.create_lane_window(
        "ws", "printer", [sys.executable, "-c", code], cwd=tmp_path
    )
    stream = await relay.stream(lane.pane_id)
    received: list[str] = []
    last = f"line {n - 1}\r\n"

    async def collect() -> None:
        tail = ""
        async for text in stream.subscribe(since=0):
            received.append(text)
            tail = (tail + text)[-len(last) :]
            if tail == last:
                return

    await asyncio.wait_for(collect(), timeout=30)
    assert len(received) > 1  # it streamed, not one capture at the end
    lines = [ln for ln in "".join(received).split("\r\n") if ln.startswith("line ")]
    assert lines == [f"line {i}" for i in range(n)]


async def test_parallel_attach_shares_one_control_client(
    relay: TmuxRelay, make_relay: Callable[[], TmuxRelay], tmp_path: Path
) -> None:
    """A process that adopts several lanes at once attaches one control client per
    session (a race once attached one per lane and leaked all but the last)."""
    lanes = await asyncio.gather(
        *(
            relay.create_lane_window("ws", f"par{i}", ["sh", "-c", "exec cat"], cwd=tmp_path)
            for i in range(4)
        )
    )
    adopter = make_relay()
    try:
        streams = await asyncio.gather(*(adopter.stream(lane.pane_id) for lane in lanes))
        assert len({id(s) for s in streams}) == 4
        clients = await relay.run("list-clients", "-F", "#{client_control_mode}")
        assert clients.split() == ["1", "1"]  # the creator's and the adopter's, no more
    finally:
        await adopter.close()


async def test_second_relay_adopts_lane_with_metadata_and_pid(
    relay: TmuxRelay, make_relay: Callable[[], TmuxRelay], tmp_path: Path
) -> None:
    meta = {"harness": "command", "model": "qwen3:7b", "digest": "abc123", "note": "#{pane_id} é ;"}
    lane = await relay.create_lane_window("ws", "main", ["cat"], cwd=tmp_path, metadata=meta)
    other = make_relay()
    try:
        found = await other.find_lane("ws", "main")
        assert found is not None
        assert (found.pane_id, found.window_id, found.pid) == (
            lane.pane_id,
            lane.window_id,
            lane.pid,
        )
        assert found.pid == await other.pane_pid(lane.pane_id)
        assert (found.harness, found.model, found.digest) == ("command", "qwen3:7b", "abc123")
        assert found.metadata["note"] == "#{pane_id} é ;"
        assert not found.dead
        stream = await other.stream(found.pane_id)
        await other.deliver(found.pane_id, "echoed by cat")
        await async_wait_until(lambda: stream.text_since(0).count("echoed by cat") >= 2)
    finally:
        await other.close()


async def test_exact_targeting_never_confuses_lane_and_lane2(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    a2 = await relay.create_lane_window("lane2", "x", ["cat"], cwd=tmp_path)
    assert not await relay.has_session("lane")
    assert await relay.find_lane("lane", "x") is None
    assert await relay.list_lanes("lane") == []
    a = await relay.create_lane_window("lane", "x", ["cat"], cwd=tmp_path)
    assert a.pane_id != a2.pane_id
    with pytest.raises(LaneWindowError, match="already has a window"):
        await relay.create_lane_window("lane", "x", ["cat"], cwd=tmp_path)
    await relay.kill_lane(a)
    assert await relay.find_lane("lane", "x") is None
    still = await relay.find_lane("lane2", "x")
    assert still is not None and still.pane_id == a2.pane_id and await relay.is_alive(a2.pane_id)


async def test_exit_status_is_recorded(relay: TmuxRelay, tmp_path: Path) -> None:
    lane = await relay.create_lane_window(
        "ws", "quitter", ["sh", "-c", "read x; exit 7"], cwd=tmp_path
    )
    assert await relay.is_alive(lane.pane_id)
    assert await relay.exit_status(lane) is None
    await relay.send_keys(lane.pane_id, "Enter")
    await async_wait_until(lambda: relay.exit_status(lane), timeout=10)
    assert await relay.exit_status(lane) == 7
    assert await relay.exit_status(lane.pane_id) == 7
    assert not await relay.is_alive(lane.pane_id)
    found = await relay.find_lane("ws", "quitter")
    assert found is not None and found.dead
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: stream.dead, timeout=5)  # reported by the control client


async def test_env_reaches_the_program_verbatim_and_launcher_is_removed(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    value = 'it\'s "quoted" $HOME `x` \n second line ü'
    out = tmp_path / "env.txt"
    code = f"import os; open({str(out)!r}, 'w').write(os.environ['LB_SECRET'] + '|' + os.environ['HOME'])"
    await relay.create_lane_window(
        "ws", "env", [sys.executable, "-c", code], cwd=tmp_path, env={"LB_SECRET": value}
    )
    await async_wait_until(out.exists)
    secret, home = out.read_text().split("|")
    assert secret == value
    assert home == relay.default_env["HOME"]
    assert not list((relay.state_dir / "lanes").rglob("*.launch.sh"))


async def test_capture_scrollback_styled_and_screen(relay: TmuxRelay, tmp_path: Path) -> None:
    code = "for i in range(300): print(f'row {i}')\nprint('\\x1b[31mred\\x1b[0m done')\ninput()"
    lane = await relay.create_lane_window(
        "ws", "cap", [sys.executable, "-c", code], cwd=tmp_path, height=30
    )
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: "done" in stream.text_since(0))
    full = await relay.capture(lane.pane_id)
    assert "row 0\n" in full and "red done" in full and "\x1b" not in full
    styled = await relay.capture(lane.pane_id, styled=True)
    assert "\x1b[" in styled and ansi.strip(styled).count("row ") == 300
    screen = await relay.screen(lane.pane_id)
    assert "row 0\n" not in screen and "red done" in screen
    assert len(screen.rstrip("\n").split("\n")) <= 30


def test_socket_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANEBOARD_TMUX_SOCKET", raising=False)
    assert resolve_socket(None) == "laneboard"
    assert resolve_socket("mine") == "mine"
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", "override")
    assert resolve_socket("mine") == "override"
    assert TmuxRelay("mine").tmux_argv[1:3] == ["-L", "override"]
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", "/tmp/some/sock")
    assert TmuxRelay().tmux_argv[1:3] == ["-S", "/tmp/some/sock"]
    assert safe_session_name("my.work:space") == "my_work_space"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"plain", b"plain"),
        (b"a\\134b", b"a\\b"),
        (b"\\015\\012", b"\r\n"),
        (b"\\033[31mx\\033[0m", b"\x1b[31mx\x1b[0m"),
        ("é✓".encode(), "é✓".encode()),
    ],
)
def test_unescape_output(raw: bytes, decoded: bytes) -> None:
    assert unescape_output(raw) == decoded


async def test_pane_stream_decodes_split_utf8_and_bounds_memory() -> None:
    stream = PaneStream("%1", limit=10)
    data = "ab✓cd".encode()
    for i in range(len(data)):
        stream.feed(data[i : i + 1])
    assert stream.text_since(0) == "ab✓cd"
    stream.feed(b"x" * 50)
    assert stream.position == 55
    assert stream.start > 0 and stream.text_since(stream.start).endswith("x" * 10)


def test_quote_command_arg_keeps_each_command_on_one_line() -> None:
    assert quote_command_arg("it's") == "'it'\\''s'"
    # anything but plain printable ASCII: double quotes, every other byte octal-escaped
    assert quote_command_arg("a\nb;$") == '"a\\012b\\073\\044"'
    assert "\n" not in quote_command_arg("x\r\n" * 3)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07text", "text"),
        ("a\x1b[2Kb\x1b[10;5Hc", "abc"),
        ("\x1b[?2004hpaste\x1b[?2004l", "paste"),
        ("no escapes", "no escapes"),
    ],
)
def test_ansi_strip(text: str, plain: str) -> None:
    assert ansi.strip(text) == plain


def test_ansi_strip_for_scan_breaks_lines_at_cursor_moves() -> None:
    assert ansi.strip_for_scan("───\x1b[5;1H───") == "───\n───"
    assert ansi.normalize_newlines("a\r\n 10%\r 90%\r\nb") == "a\n 90%\nb"


async def test_waiting_on_a_silent_pane_does_not_accumulate_waiters() -> None:
    stream = PaneStream("%1")
    for _ in range(20):
        assert not await stream.wait(0.001)
    assert stream._waiters == []
