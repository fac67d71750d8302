"""The send and status path through the session's open control-mode client (#15, #17).

What they hold: while a control client runs for a pane, a paste, keys, captures, pane
queries and the lane list need no `tmux` process (proved by pointing the relay's tmux
command at a program that does not exist: only the open client can answer); whatever an
argument holds reaches tmux byte for byte (tmux's buffer read back by a separate tmux
process); without a client the same calls fall back to tmux processes; a command tmux
refuses is a TmuxError, and a failed paste leaves no buffer behind.

The capture guard (tmux 3.3a passes command output to a control client unescaped): the
tmux behaviour it rests on, checked against the real tmux with a raw `tmux -C` client (a
`a ; b` line answers with two blocks flagged 1, back to back; a capture of the screen is
exactly `pane_height` lines, wide characters and styles included, `-J` is not; a failed
command drops the rest of its line; a missing pane's count is blank and its
capture a one-line error; a hook's block is flagged 0); which commands the client
refuses (they run as processes); and that a hook running between the count and the
capture closes the client cleanly rather than trusting a stale count.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from laneboard.harnesses.tmux import TmuxError, TmuxRelay
from laneboard.harnesses.tmux_control import ControlPathRefused, quote_command_arg
from laneboard.harnesses.tmux_control_route import route
from laneboard.harnesses.tmux_server import _PANE_FORMAT
from tests.fixtures.tmux import async_wait_until
from tests.test_tmux_relay import start_reader, tricky_prompt

pytestmark = pytest.mark.tmux

#: Arguments tmux's command parser would read as syntax if they were not quoted right.
HOSTILE = [
    "plain",
    "two\nlines\n",
    "cr\r\nlf",
    'it\'s "quoted" and `back`',
    "a ; kill-server ; b",
    "x;",
    ";",
    "trailing backslash \\",
    "\\n is not a newline, \\042 not a quote, \\u00e9 not é",
    "$HOME ${HOME} $(id) ~ ~root",
    "~starts with a tilde",
    "-starts-with-a-dash",
    "#{pane_id} #(id) #[fg=red] ## #",
    "%if 1\nkill-server\n%endif",
    "{ braces } {",
    "tab\there",
    "ünïcødé ✓ 日本語 🙂",
    "\x1b[201~\x03\x7f controls (not sanitised here: the parser must still keep them)",
]


def _buffer(relay: TmuxRelay, name: str) -> bytes:
    """A tmux buffer's bytes, read by a separate tmux process."""
    return subprocess.run(
        ["tmux", "-L", relay.socket, "save-buffer", "-b", name, "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def _buffers(relay: TmuxRelay) -> str:
    return subprocess.run(
        ["tmux", "-L", relay.socket, "list-buffers", "-F", "#{buffer_name}"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip


@contextlib.contextmanager
def no_tmux_processes(relay: TmuxRelay) -> Iterator[None]:
    """Inside, a forked `tmux` fails: only the open control client can answer."""
    argv, relay.tmux_argv = relay.tmux_argv, ["/nonexistent/laneboard-test-no-tmux"]
    try:
        yield
    finally:
        relay.tmux_argv = argv  # the fixture's clean-up runs tmux


@pytest.mark.parametrize("text", HOSTILE)
async def test_quoted_arguments_reach_tmux_byte_for_byte(relay: TmuxRelay, text: str) -> None:
    control = await relay._control_for(await relay.ensure_session("ws"))
    assert "\n" not in quote_command_arg(text)
    await control.command("set-buffer", "-b", "lb-quoted", "--", text)
    assert _buffer(relay, "lb-quoted") == text.encode()


def test_nul_cannot_be_quoted() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_command_arg("a\x00b")


async def test_send_and_status_need_no_tmux_process(relay: TmuxRelay, tmp_path: Path) -> None:
    prompt = tricky_prompt(40)
    pane, out = await start_reader(relay, tmp_path, "cooked", lines=41)
    with no_tmux_processes(relay):
        assert await relay.is_alive(pane)
        assert isinstance(await relay.pane_pid(pane), int)
        assert await relay.server_running()
        assert [w.pane_id for w in await relay.list_lanes("ws")] == [pane]
        delivery = await relay.deliver(pane, prompt)
        assert delivery.submitted and not delivery.retried
        await relay.send_keys(pane, "typed ; \\ $HOME 'q'", literal=True)
        await relay.send_keys(pane, "Enter")
        await async_wait_until(out.exists)
        assert out.read_bytes() == (prompt + "\n" + "typed ; \\ $HOME 'q'\n").encode()
        assert "line 39:" in await relay.screen(pane)
        assert "line 39:" in await relay.screen(pane, styled=True)


async def test_a_paste_in_pieces_arrives_whole(relay: TmuxRelay, tmp_path: Path) -> None:
    from laneboard.harnesses.tmux import _PASTE_CHUNK

    # multi-byte characters across every piece boundary, line breaks, the parser's syntax
    prompt = ("é🙂;\\$\n'\"~#{x}" * (_PASTE_CHUNK // 3))[: 3 * _PASTE_CHUNK + 7]
    pane, out = await start_reader(relay, tmp_path, "raw")
    with no_tmux_processes(relay):
        await relay.deliver(pane, prompt, submit=False)
    await async_wait_until(out.exists, timeout=30)
    assert out.read_bytes() == b"\x1b[200~" + prompt.replace("\n", "\r").encode() + b"\x1b[201~"
    assert "lb-" not in _buffers(relay)  # pasted with -d: the buffer is gone


async def test_without_a_control_client_tmux_processes_do_the_same(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    prompt = tricky_prompt(5)
    pane, out = await start_reader(relay, tmp_path, "cooked", lines=5)
    await relay.close()  # detached: this process has no control client any more
    assert relay._control_of(pane) is None
    assert await relay.is_alive(pane)
    assert [w.pane_id for w in await relay.list_lanes("ws")] == [pane]
    await relay.deliver(pane, prompt)
    await async_wait_until(out.exists)
    assert out.read_bytes() == (prompt + "\n").encode()
    assert "line 4:" in await relay.capture(pane)


async def test_an_ended_control_client_falls_back_to_processes(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    pane, out = await start_reader(relay, tmp_path, "cooked", lines=1)
    control = relay._control_of(pane)
    assert control is not None and control._proc is not None
    control._proc.kill()  # the client this relay started, by its process
    await async_wait_until(control.exited.is_set)
    await relay.deliver(pane, "after the client ended")
    await async_wait_until(out.exists)
    assert out.read_text() == "after the client ended\n"


async def test_refused_commands_are_tmux_errors_and_leave_no_buffer(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    pane, _out = await start_reader(relay, tmp_path, "cooked", lines=1)
    window = next(w for w in await relay.list_lanes("ws") if w.pane_id == pane)
    await relay.kill_lane(window)
    with no_tmux_processes(relay):
        with pytest.raises(TmuxError, match="can't find pane"):
            await relay.run_for(pane, "send-keys", "-t", "%987654", "x")
        assert not await relay.is_alive(pane)  # asked through the client: the pane is gone
        with pytest.raises(TmuxError):
            await relay.paste(pane, "into a pane that is gone\nsecond line")
    assert "lb-" not in _buffers(relay)


# -- the capture guard -------------------------------------------------------------------

#: A lane that prints a line imitating an answer end, then a wide-character line that
#: wraps on a 20-column pane, then waits. It only prints.
PRINTER = r"""
import sys
print("%end 1 2 1")
print("\u65e5\u672c\u8a9e" * 5)
print("PRINTED", flush=True)
sys.stdin.readline()
"""

Block = tuple[str, str, list[str]]  # (tag, "end" | "error", lines)


class RawControl:
    """A bare `tmux -C` client on the test's server: what tmux itself writes, unparsed
    by laneboard."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def line(self) -> str:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert raw, "tmux closed the control client"
        return raw.decode().removesuffix("\n")

    async def ask(self, *lines: str, ours: int) -> list[Block]:
        """Write `lines`; every block (ours flagged 1, others 0) until `ours` of ours end."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(line + "\n" for line in lines).encode())
        await self.proc.stdin.drain()
        blocks: list[Block] = []
        while sum(tag.endswith(" 1") for tag, _, _ in blocks) < ours:
            line = await self.line()
            if not line.startswith("%begin "):
                continue  # a notification between blocks
            tag, body = line.split(" ", 1)[1], []
            while True:
                line = await self.line()
                if line in (f"%end {tag}", f"%error {tag}"):
                    break
                body.append(line)
            blocks.append((tag, line.split(" ")[0].lstrip("%"), body))
        return blocks


@contextlib.asynccontextmanager
async def raw_control(relay: TmuxRelay, session: str) -> AsyncIterator[RawControl]:
    proc = await asyncio.create_subprocess_exec(
        *relay.tmux_argv, "-C", "attach-session", "-f", "ignore-size", "-t", f"={session}",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    raw = RawControl(proc)
    try:
        while not (await raw.line()).startswith("%session-changed"):
            pass
        yield raw
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # detaches
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _printer(relay: TmuxRelay, tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "printer.py").write_text(PRINTER)
    lane = await relay.create_lane_window(
        "ws", "printer", [sys.executable, str(tmp_path / "printer.py")], cwd=tmp_path,
        width=20, height=6,
    )  # fmt: skip
    stream = await relay.stream(lane.pane_id)
    await async_wait_until(lambda: "PRINTED" in stream.text_since(0), timeout=30)
    return lane.session, lane.pane_id


async def test_tmux_behaviour_the_capture_guard_rests_on(relay: TmuxRelay, tmp_path: Path) -> None:
    session, pane = await _printer(relay, tmp_path)
    count = f"display-message -p -t {pane} '#{{pane_id}} #{{pane_height}}'"
    async with raw_control(relay, session) as raw:
        # one line, two commands: two blocks, both ours, numbered back to back
        for flags in ("", " -e"):
            [(tag1, st1, out1), (tag2, st2, out2)] = await raw.ask(
                f"{count} ; capture-pane -p{flags} -t {pane}", ours=2
            )
            assert (st1, st2) == ("end", "end")
            assert int(tag2.split(" ")[1]) == int(tag1.split(" ")[1]) + 1
            assert out1 == [f"{pane} 6"]
            # exactly the height: the wrapped wide line is two lines; the %end line is raw
            assert len(out2) == 6 and out2[0] == "%end 1 2 1"
        [(_, _, joined)] = await raw.ask(f"capture-pane -p -J -t {pane}", ours=1)
        assert len(joined) == 5  # -J joins the wrapped line: not countable by the height
        # a missing pane: the count is blank (the formats expand empty), the capture a
        # one-line error
        [(_, st1, out1), (_, st2, out2)] = await raw.ask(
            "display-message -p -t %987654 '#{pane_id} #{pane_height}' ; "
            "capture-pane -p -t %987654",
            ours=2,
        )
        assert (st1, out1, st2) == ("end", [" "], "error") and len(out2) == 1
        # a failed command drops the rest of its line
        blocks = await raw.ask("select-pane -t %987654 ; display-message -p DROPPED", ours=1)
        assert [b[1] for b in blocks] == ["error"]
        [(_, _, out)] = await raw.ask("display-message -p NEXT", ours=1)
        assert out == ["NEXT"]
        # a hook's command answers in a block flagged 0, after ours
        await raw.ask("set-hook -g after-display-message 'display-message -p HOOKED'", ours=1)
        blocks = await raw.ask("display-message -p MINE", ours=1)
        blocks += await raw.ask("set-hook -gu after-display-message", ours=1)
        assert [(b[0][-1], b[2]) for b in blocks[:2]] == [("1", ["MINE"]), ("0", ["HOOKED"])]


def test_which_commands_may_go_through_the_client() -> None:
    assert route(["capture-pane", "-p", "-t", "%3"]) == "screen"
    assert route(["capture-pane", "-p", "-t", "%3", "-e"]) == "screen"
    assert route(["capturep", "-e", "-p", "-t", "%3"]) == "screen"
    for capture in (
        ["capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "%3"],
        ["capture-pane", "-p", "-J", "-t", "%3"],
        ["capture-pane", "-p", "-S", "-5", "-t", "%3"],
        ["capture-pane", "-p", "-t", "=ws:lane"],  # not a pane id
        ["capture-pane", "-p", "-p", "-t", "%3"],
        ["capture-pane", "-t", "%3"],  # into a buffer
        ["capture-pane", "-p", "-a", "-t", "%3"],
    ):
        assert route(capture) == "process", capture
    for other in (
        ["show-buffer"], ["save-buffer", "-"], ["list-buffers"], ["showb", "-b", "x"],
        ["show-messages"], ["display-message", "-p", "#{pane_title}"],
        ["display-message", "-p", "#T"], ["display", "-p", "#{pane_current_command}"],
        ["list-panes", "-F", "#{window_name}"], ["display", "-p", "#{?pane_dead,a,b}"],
        ["display", "-p", "#(cat /etc/hostname)"],
    ):  # fmt: skip
        assert route(other) == "process", other
    for plain in (
        ["list-panes", "-a", "-F", _PANE_FORMAT],
        ["display-message", "-p", "-t", "%3", "#{pane_dead}"],
        ["display-message", "-p", "-t", "%3", "#{session_name}\t#{window_id}"],
        ["refresh-client", "-B", "lb-dead:%*:#{pane_dead}"],
        ["send-keys", "-t", "%3", "-l", "--", "#{pane_title} #T"],  # text, not a format
        ["set-buffer", "-b", "lb-x", "--", "#(id)"],
        ["paste-buffer", "-d", "-b", "lb-x", "-t", "%3"],
    ):
        assert route(plain) == "plain", plain


async def test_uncountable_commands_are_refused_and_run_as_processes(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    _session, pane = await _printer(relay, tmp_path)
    control = relay._control_of(pane)
    assert control is not None
    for args in (
        ("capture-pane", "-p", "-J", "-t", pane),
        ("show-buffer",),
        ("display-message", "-p", "-t", pane, "#{pane_title}"),
    ):
        with pytest.raises(ControlPathRefused) as refused:
            await control.command(*args)
        assert refused.value.sent is False
    assert control.running and await relay.is_alive(pane)  # nothing was written
    scrollback = await relay.capture(pane)  # refused by the client, asked of a process
    assert "%end 1 2 1" in scrollback and "\u65e5\u672c\u8a9e" * 5 in scrollback
    with no_tmux_processes(relay):
        assert (await relay.screen(pane)).count("\n") == 6  # the screen: through the client


async def test_a_hook_between_count_and_capture_closes_the_client_cleanly(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    """A user's `after-display-message` hook runs between the count and the capture and
    may resize the pane: the count is stale, so the client closes (never trusting it) and
    the screen comes from a tmux process; the next stream attaches a new client."""
    _session, pane = await _printer(relay, tmp_path)
    control = relay._control_of(pane)
    assert control is not None
    window = (await relay.run("display-message", "-p", "-t", pane, "#{window_id}")).strip()
    await relay.run("set-hook", "-g", "after-display-message", f"resize-window -t {window} -y 9")
    screen = await relay.screen(pane)
    assert screen.count("\n") == 9 and screen.startswith("%end 1 2 1\n")
    assert not control.running and "between a line count and its capture" in control.exit_reason
    await relay.run("set-hook", "-gu", "after-display-message")
    await relay.stream(pane)
    fresh = relay._control_of(pane)
    assert fresh is not None and fresh is not control
    with no_tmux_processes(relay):
        assert (await relay.screen(pane)).count("\n") == 9
    assert fresh.running
