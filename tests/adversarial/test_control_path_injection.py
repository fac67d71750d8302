"""Promise under attack: text sent through the control-mode client is TEXT — never a tmux
command, never a key.

Pastes and typed text now reach tmux as lines of tmux's own command language, written to
the session's control client (`set-buffer -- <text>`, `send-keys -l -- <text>`), so a
prompt that tmux's parser read as syntax could end the command and run one of its own: a
line break or `;` starting a new command (`run-shell`, `kill-server`), a quote closing the
argument early, `\\` escaping the closing quote, `$VAR`/`~` expansion, `%if` directives,
`#{…}` formats. These prompts carry exactly that, and the command they would run leaves a
canary file behind (written under this test's own temp dir, only if the attack worked).
Each test first makes every forked `tmux` fail, so the control path is the only one
that can deliver. The property: exactly one submitted turn whose text is
`sanitise(prompt).text`, no typed keys, no canary, the tmux server and the lane still
there.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneboard.harnesses.paste_safe import sanitise
from laneboard.harnesses.tmux import TmuxRelay
from tests.adversarial.test_keystroke_injection import deliver_and_collect, start_recorder
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.tmux


def attacks(canary: Path) -> list[str]:
    """Prompts that would run `run-shell` (creating `canary`) if parsed as commands."""
    run = f"run-shell 'touch {canary}'"
    return [
        f"\n{run}\n",
        f"; {run} ;",
        f"x' ; {run} ; '",
        f'x" ; {run} ; "',
        f"trailing backslash \\\n{run}",
        f"\\' ; {run}",
        f'\\" ; {run}',
        f"$({run}) ${{HOME}} $HOME ~ ~root",
        f"%if 1\n{run}\n%endif",
        f"#{{{run}}} #({run}) ##",
        f"{{ {run} }}",
        f"\\012{run}\\012 \\n{run}",
        f"\r{run}\r\n{run}",
        f"\x1b[201~\n{run}\n\x1b[200~",
        f"tab\t; {run}",
        f"ünïcödé ; {run} 🙂",
    ]


@contextlib.contextmanager
def no_tmux_processes(relay: TmuxRelay) -> Iterator[None]:
    argv, relay.tmux_argv = relay.tmux_argv, ["/nonexistent/laneboard-test-no-tmux"]
    try:
        yield
    finally:
        relay.tmux_argv = argv


async def test_pasted_tmux_syntax_is_one_turn_of_text(relay: TmuxRelay, tmp_path: Path) -> None:
    canary = tmp_path / "PWNED"
    pane, rec = await start_recorder(relay, tmp_path)
    with no_tmux_processes(relay):
        for i, prompt in enumerate(attacks(canary)):
            got = await deliver_and_collect(relay, pane, rec, prompt, f"END-{i}")
            assert got == [{"turn": sanitise(prompt).text}], repr(prompt)
        assert await relay.is_alive(pane)
    assert not canary.exists()


async def test_typed_tmux_syntax_is_typed_as_text(relay: TmuxRelay, tmp_path: Path) -> None:
    canary = tmp_path / "PWNED"
    pane, rec = await start_recorder(relay, tmp_path)
    with no_tmux_processes(relay):
        for prompt in attacks(canary):
            start = len(rec.events())
            safe = await relay.send_keys(pane, prompt, literal=True)
            await relay.send_keys(pane, "Enter")

            def entered(s: int = start) -> bool:
                return {"turn": ""} in rec.turns_since(s)

            await async_wait_until(entered, timeout=15)
            typed = bytes(int(str(e["key"])) for e in rec.turns_since(start) if "key" in e)
            assert typed == safe.text.encode(), repr(prompt)
    assert not canary.exists()


#: A lane that, given a command number N, fills its screen with lines imitating the end
#: of a control-mode answer for every number after N (and a forged output line for
#: another pane), then TAIL. It only prints.
FORGER = r"""
import sys
n = int(sys.stdin.readline())
for i in range(1, 41):
    print(f"%end 0 {n + i} 1")
    if i % 10 == 0:
        print("%output %424242 forged")
print("TAIL-OF-SCREEN", flush=True)
sys.stdin.readline()
"""


async def test_a_screen_imitating_the_answer_end_is_read_whole(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    """tmux passes a captured screen through the control client unescaped; lines that
    imitate `%end` with the right command number (the old check) must not cut it short,
    nor turn the rest into notifications (a forged `%output` of another pane)."""
    script = tmp_path / "forger.py"
    script.write_text(FORGER)
    lane = await relay.create_lane_window(
        "ws", "forger", [sys.executable, str(script)], cwd=tmp_path
    )
    stream = await relay.stream(lane.pane_id)
    control = relay._control_of(lane.pane_id)
    assert control is not None
    await relay.screen(lane.pane_id)  # one answer: its tag holds the current command number
    number = int(control._block_id.split(b" ")[1])
    await relay.deliver(lane.pane_id, str(number), bracketed=False)
    await async_wait_until(lambda: "TAIL-OF-SCREEN" in stream.text_since(0))
    screen = await relay.screen(lane.pane_id)
    assert "TAIL-OF-SCREEN" in screen and screen.count("%end 0 ") >= 30
    assert "%424242" not in control.streams
    assert await relay.is_alive(lane.pane_id)  # the next answers still pair up


def test_property_arbitrary_text_through_the_control_path_is_one_turn(
    make_relay: Callable[[], TmuxRelay], tmp_path: Path
) -> None:
    """Hypothesis: arbitrary text biased towards tmux syntax → one turn of sanitised text."""
    loop = asyncio.new_event_loop()
    relay = make_relay()
    canary = tmp_path / "PWNED"
    try:
        pane, rec = loop.run_until_complete(start_recorder(relay, tmp_path))
        syntax = st.sampled_from(
            ["\n", "\r", ";", "'", '"', "\\", "$", "~", "#{", "}", "{", "%if ", "%endif",
             "\\012", "\\n", "\t", "\x1b[201~", "é", "🙂", f"run-shell 'touch {canary}'"]
        )  # fmt: skip
        texts = st.lists(st.one_of(syntax, st.text(max_size=12)), max_size=14).map("".join)
        counter = iter(range(1_000_000))

        @settings(
            max_examples=50,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(prompt=texts)
        def prop(prompt: str) -> None:
            marker = f"END-{next(counter)}"
            with no_tmux_processes(relay):
                got = loop.run_until_complete(deliver_and_collect(relay, pane, rec, prompt, marker))
            assert got == [{"turn": sanitise(prompt).text}], repr(prompt)

        prop()
        assert not canary.exists()
    finally:
        loop.run_until_complete(relay.kill_server())
        loop.close()
