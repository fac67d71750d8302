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
            await async_wait_until(lambda s=start: {"turn": ""} in rec.turns_since(s), timeout=15)
            typed = bytes(int(str(e["key"])) for e in rec.turns_since(start) if "key" in e)
            assert typed == safe.text.encode(), repr(prompt)
    assert not canary.exists()


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
                got = loop.run_until_complete(
                    deliver_and_collect(relay, pane, rec, prompt, marker)
                )
            assert got == [{"turn": sanitise(prompt).text}], repr(prompt)

        prop()
        assert not canary.exists()
    finally:
        loop.run_until_complete(relay.kill_server())
        loop.close()
