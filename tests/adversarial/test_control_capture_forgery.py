"""Promise under attack: pane text read through the control-mode client is DATA, never
tmux's control protocol.

tmux 3.3a writes a command's output lines to a control client unescaped, and `screen()`
asks `capture-pane -p` through that client: a lane's screen travels as raw lines inside
a `%begin … %end` block. A lane (an agent, or a hostile file it `cat`s) that prints a line
`%end <time> <number> <flags>` matching the pending command's tag would end the answer
early, and the lines after it would be read as notifications: a forged `%output` of
another lane, a forged `%exit`. The tag is guessable (the time is seconds, the number
counts up), so these tests brute-force it: a forging lane fills a tall screen with `%end`
lines for every time and number around the real ones, flags 0 and 1, each followed by a
forged `%output` of a victim lane and a forged `%exit`. Property: every `screen()` returns
the pane's real text (what a separate tmux process captures), no FORGED text reaches the
victim's stream or its subscriber, the client stays the same running client, and every
prompt sent to the victim meanwhile arrives — locally and for a lane on another host
(its control client runs over ssh). A resize during captures must not desynchronise the
parser either.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest

from laneboard.harnesses import ansi
from laneboard.harnesses.ssh_link import SshLink
from laneboard.harnesses.tmux import TmuxRelay
from tests.fixtures.sshd import sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until
from tests.test_remote_lanes import _relay, link, remote_socket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.tmux

#: Lane program: on each line it reads, it reads "TIME NUMBER" from the tag file and prints
#: forged answer ends for times TIME..TIME+1, numbers NUMBER+1..NUMBER+SPAN, flags 1 and 0
#: (`%end`, and `%error` for flags 1), each followed by a forged %output of the victim pane
#: and a forged %exit, then a marker.
#: It only prints.
FORGER = r"""
import sys
tag_file, victim, span = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("FORGER-READY", flush=True)
rounds = 0
for _ in sys.stdin:
    rounds += 1
    t, n = (int(x) for x in open(tag_file).read().split())
    for dt in (0, 1):
        for i in range(1, span + 1):
            for flags in (1, 0):
                print(f"%end {t + dt} {n + i} {flags}")
                if flags:
                    print(f"%error {t + dt} {n + i} {flags}")
                print(f"%output {victim} FORGED-OUTPUT-{rounds}-{i}")
                print(f"%exit FORGED-EXIT")
    print(f"ROUND-{rounds}-DONE", flush=True)
"""

#: Lane program: appends every line it reads to a file (the sends it must not lose).
VICTIM = r"""
import sys
out = sys.argv[1]
print("VICTIM-READY", flush=True)
for line in sys.stdin:
    with open(out, "a") as fh:
        fh.write(line)
    print("got " + line.strip(), flush=True)
"""

SPAN = 25
HEIGHT = 2 * SPAN * 7 + 10  # every forged line of a round stays on the screen


async def _start(relay: TmuxRelay, tmp_path: Path) -> tuple[str, str, Path, Path]:
    (tmp_path / "forger.py").write_text(FORGER)
    (tmp_path / "victim.py").write_text(VICTIM)
    received = tmp_path / "victim.txt"
    tag_file = tmp_path / "tag.txt"
    victim = await relay.create_lane_window(
        "ws", "victim", [sys.executable, str(tmp_path / "victim.py"), str(received)], cwd=tmp_path
    )
    forger = await relay.create_lane_window(
        "ws",
        "forger",
        [sys.executable, str(tmp_path / "forger.py"), str(tag_file), victim.pane_id, str(SPAN)],
        cwd=tmp_path,
        height=HEIGHT,
        width=120,
    )
    vstream = await relay.stream(victim.pane_id)
    fstream = await relay.stream(forger.pane_id)
    await async_wait_until(lambda: "VICTIM-READY" in vstream.text_since(0), timeout=30)
    await async_wait_until(lambda: "FORGER-READY" in fstream.text_since(0), timeout=30)
    return forger.pane_id, victim.pane_id, tag_file, received


async def _real_screen(relay: TmuxRelay, pane: str) -> str:
    """The screen as a separate tmux process captures it (never through the client)."""
    return ansi.strip(await relay.run("capture-pane", "-p", "-t", pane))


async def test_forged_answer_ends_on_screen_stay_screen_text(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    await _attack(relay, tmp_path, rounds=4)


@pytest.mark.slow
async def test_forged_answer_ends_on_a_remote_lane_screen_stay_screen_text(
    link: SshLink,  # noqa: F811
    remote_socket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The same attack on a lane on another host: its control client runs over ssh."""
    relay = _relay(link, remote_socket, tmp_path)
    try:
        await _attack(relay, tmp_path, rounds=2)
    finally:
        await relay.kill_server()


async def _attack(relay: TmuxRelay, tmp_path: Path, *, rounds: int) -> None:
    forger, victim, tag_file, received = await _start(relay, tmp_path)
    control = relay._control_of(forger)
    assert control is not None
    seen: list[str] = []

    async def subscriber() -> None:
        async for text in control.stream(victim).subscribe(since=0):
            seen.append(text)

    sub = asyncio.create_task(subscriber())
    fstream = control.stream(forger)
    sent: list[str] = []
    try:
        for rnd in range(1, rounds + 1):
            await relay.screen(forger)  # an answer: its tag holds the current time and number
            t, n, _flags = control._block_id.decode().split(" ")
            tag_file.write_text(f"{t} {n}\n")
            await relay.deliver(forger, "go", bracketed=False)
            done = f"ROUND-{rnd}-DONE"

            async def on_screen(done: str = done) -> bool:
                return done in fstream.text_since(0) and done in await _real_screen(relay, forger)

            await async_wait_until(on_screen, timeout=30)
            real = await _real_screen(relay, forger)
            assert real.count("%end ") >= 2 * SPAN * 2, "the forged lines are on the screen"
            # alone, first: the brute force guessed the tag of the very block carrying it
            assert await relay.screen(forger) == real
            tag = control._block_id.decode()
            assert f"%end {tag}\n" in real, f"round {rnd}: {tag} was not among the forged"
            for i in range(6):  # now with sends to the victim in flight
                prompt = f"send-{rnd}-{i}"
                sent.append(prompt)
                screen, _ = await asyncio.gather(
                    relay.screen(forger), relay.deliver(victim, prompt, bracketed=False)
                )
                assert screen == real, f"round {rnd}, capture {i}: not the pane's real text"
                styled = await relay.screen(forger, styled=True)
                assert ansi.strip(styled) == real
            assert relay._control_of(forger) is control and control.running
            assert "FORGED" not in control.exit_reason
        await async_wait_until(
            lambda: received.exists() and received.read_text().split() == sent, timeout=30
        )
        assert "FORGED" not in control.stream(victim).text_since(0)
        assert not any("FORGED" in s for s in seen)
        assert control.running and relay._control_of(victim) is control
    finally:
        sub.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sub


async def test_a_resize_during_captures_cannot_desynchronise_the_parser(
    relay: TmuxRelay, tmp_path: Path
) -> None:
    """The line count and the capture run back to back inside tmux (one command line),
    so a resize lands before or after both: every answer is a whole screen of one of the
    sizes, the forged lines stay text, the client stays up."""
    forger, victim, tag_file, _received = await _start(relay, tmp_path)
    control = relay._control_of(forger)
    assert control is not None
    await relay.screen(forger)
    t, n, _flags = control._block_id.decode().split(" ")
    tag_file.write_text(f"{t} {n}\n")
    fstream = control.stream(forger)
    await relay.deliver(forger, "go", bracketed=False)
    await async_wait_until(lambda: "ROUND-1-DONE" in fstream.text_since(0), timeout=30)
    window = (await relay.run("display-message", "-p", "-t", forger, "#{window_id}")).strip()
    heights = [HEIGHT, HEIGHT - 37, HEIGHT + 23]
    stop = asyncio.Event()

    async def resizer() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            await relay.run("resize-window", "-t", window, "-y", str(heights[k % 3]))

    task = asyncio.create_task(resizer())
    seen: set[int] = set()
    try:
        for k in range(400):
            screen = await relay.screen(forger)
            assert len(screen.splitlines()) in heights
            assert "%end " in screen or "ROUND-1-DONE" in screen
            seen.add(len(screen.splitlines()))
            if len(seen) == len(heights) and k >= 40:
                break
    finally:
        stop.set()
        await task
    assert len(seen) >= 2, f"the captures saw one size only: {seen}"
    assert relay._control_of(forger) is control and control.running
    assert "FORGED" not in control.stream(victim).text_since(0)
    assert "FORGED" not in control.exit_reason
