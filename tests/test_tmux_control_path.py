"""The send and status path through the session's open control-mode client (#15, #17).

What they hold: while a control client runs for a pane, a paste, keys, captures, pane
queries and the lane list need no `tmux` process (proved by pointing the relay's tmux
command at a program that does not exist: only the open client can answer); whatever an
argument holds reaches tmux byte for byte (tmux's buffer read back by a separate tmux
process); without a client the same calls fall back to tmux processes; a command tmux
refuses is a TmuxError, and a failed paste leaves no buffer behind.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneboard.harnesses.tmux import TmuxError, TmuxRelay
from laneboard.harnesses.tmux_control import quote_command_arg
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
