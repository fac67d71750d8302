"""The command harness driving real programs in tmux on a private socket."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from laneboard.errors import BinaryMissing, HarnessError, LaneError
from laneboard.harnesses.base import ErrorRaised, HarnessEvent, HarnessSpec, OutputReceived
from laneboard.harnesses.command import CommandHarness
from laneboard.harnesses.tmux import LaneWindowError, TmuxRelay
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.tmux

SHELL_READY = r"lb\$\Z"  # the test lanes' PS1 is 'lb$ '; screens are matched right-stripped


def shell_spec(tmp_path: Path, lane: str = "sh", **kw: object) -> HarnessSpec:
    return HarnessSpec(
        lane=lane, harness="command", command=("/bin/sh", "-i"), cwd=str(tmp_path),
        ready_pattern=SHELL_READY, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
async def lanes(relay: TmuxRelay) -> AsyncIterator[list[CommandHarness]]:
    """Harnesses a test built; stopped at teardown so no task outlives its event loop."""
    made: list[CommandHarness] = []
    yield made
    for harness in made:
        await harness.stop()


class Recorder:
    """Collects a harness's events from a running subscription."""

    def __init__(self, harness: CommandHarness) -> None:
        self.events: list[HarnessEvent] = []
        self.harness = harness
        self._stream = harness.events()  # registered now: nothing published after is lost
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self.events.append(event)

    async def ready(self) -> None:
        assert self.harness.hub.subscribers > 0

    def output(self) -> str:
        return "".join(e.data for e in self.events if isinstance(e, OutputReceived))

    def errors(self, kind: str) -> list[ErrorRaised]:
        return [e for e in self.events if isinstance(e, ErrorRaised) and e.kind == kind]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def test_shell_lane_round_trip_with_ready_pattern(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    harness = CommandHarness(shell_spec(tmp_path), relay=relay, session="ws")
    lanes.append(harness)
    rec = Recorder(harness)
    await rec.ready()
    await harness.start()
    assert harness.state == "ready" and not harness.adopted
    result = await harness.send("echo \"hello 'world'\" $((6*7))", timeout=20)
    assert result.state == "done"
    assert result.reply == "hello 'world' 42"
    result = await harness.send("sleep 0.5; printf 'a\\nb\\n'", timeout=20)
    assert result.reply == "a\nb"
    assert "hello 'world' 42" in rec.output()
    health = await harness.health()
    assert health.alive and health.pid
    await harness.stop()
    assert harness.state == "stopped"
    assert await relay.find_lane("ws", "sh") is None
    await rec.close()


async def test_without_patterns_the_turn_ends_on_quiescence(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    code = "while True:\n    line = input()\n    print('got', line.upper(), flush=True)"
    spec = HarnessSpec(
        lane="py", harness="command", command=(sys.executable, "-u", "-c", code), cwd=str(tmp_path)
    )
    harness = CommandHarness(spec, relay=relay, session="ws", quiet=0.3)
    lanes.append(harness)
    await harness.start()
    result = await harness.send("ping ü", timeout=10)
    assert result.state == "done"
    assert result.reply == "got PING Ü"
    await harness.stop()


async def test_watchdog_trips_on_degenerate_stream_and_interrupts(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    harness = CommandHarness(shell_spec(tmp_path), relay=relay, session="ws")
    lanes.append(harness)
    rec = Recorder(harness)
    await rec.ready()
    await harness.start()
    result = await harness.send("yes '<unused50>'", timeout=30)
    assert result.state == "failed"
    assert result.error is not None and "watchdog" in result.error
    await async_wait_until(lambda: rec.errors("watchdog"))
    assert len(rec.errors("watchdog")) == 1
    # the Ctrl-C landed: the shell is back at its prompt and takes the next prompt
    await async_wait_until(harness.at_ready, timeout=15)
    after = await harness.send("echo after", timeout=20)
    assert after.state == "done" and after.reply.endswith("after")
    await harness.stop()
    await rec.close()


async def test_token_stream_without_newlines_trips_the_watchdog(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    code = "import sys\nwhile True: sys.stdout.write('<unused50>'); sys.stdout.flush()"
    spec = HarnessSpec(
        lane="tok", harness="command", command=(sys.executable, "-c", code), cwd=str(tmp_path)
    )
    harness = CommandHarness(spec, relay=relay, session="ws")
    lanes.append(harness)
    rec = Recorder(harness)
    await rec.ready()
    await harness.start()
    await async_wait_until(lambda: rec.errors("watchdog"), timeout=20)
    # interrupted: Ctrl-C ends the Python program, so the lane reports its exit (130 / 1)
    await async_wait_until(lambda: rec.errors("exit"), timeout=15)
    assert "with status" in rec.errors("exit")[0].message
    await rec.close()


async def test_second_harness_adopts_the_running_lane(
    lanes: list[CommandHarness],
    relay: TmuxRelay,
    make_relay: Callable[[], TmuxRelay],
    tmp_path: Path,
) -> None:
    first = CommandHarness(shell_spec(tmp_path, "adopt"), relay=relay, session="ws")
    lanes.append(first)
    await first.start()
    pid = (await first.health()).pid
    other_relay = make_relay()
    try:
        second = CommandHarness(shell_spec(tmp_path, "adopt"), relay=other_relay, session="ws")
        lanes.append(second)
        await second.start()
        assert second.adopted and second.pane_id == first.pane_id
        assert (await second.health()).pid == pid
        assert len(await other_relay.list_lanes("ws")) == 1
        result = await second.send("echo adopted", timeout=20)
        assert result.reply == "adopted"
    finally:
        await other_relay.close()


async def test_a_command_that_exits_reports_its_status(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    spec = HarnessSpec(
        lane="ex",
        harness="command",
        command=("sh", "-c", "read x; echo bye; exit 3"),
        cwd=str(tmp_path),
    )
    harness = CommandHarness(spec, relay=relay, session="ws")
    lanes.append(harness)
    rec = Recorder(harness)
    await rec.ready()
    await harness.start()
    result = await harness.send("go", timeout=20)
    assert result.state == "failed"
    assert result.extra["exit_status"] == 3
    assert "bye" in result.reply
    await async_wait_until(lambda: rec.errors("exit"))
    assert "status 3" in rec.errors("exit")[0].message
    assert not (await harness.health()).alive
    await rec.close()


async def test_missing_binary_is_reported(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    spec = HarnessSpec(
        lane="nope", harness="command", command=("no-such-program-lb",), cwd=str(tmp_path)
    )
    with pytest.raises(BinaryMissing, match="no-such-program-lb"):
        await CommandHarness(spec, relay=relay, session="ws").start()
    assert not lanes


async def test_a_lane_run_by_another_harness_is_not_taken_over(
    lanes: list[CommandHarness], relay: TmuxRelay, tmp_path: Path
) -> None:
    await relay.create_lane_window(
        "ws", "taken", ["cat"], cwd=tmp_path, metadata={"harness": "codex"}
    )
    harness = CommandHarness(shell_spec(tmp_path, "taken"), relay=relay, session="ws")
    with pytest.raises(LaneWindowError, match="codex harness") as raised:
        await harness.start()
    # the harness layer's own error type: the supervisor catches HarnessError from start()
    assert isinstance(raised.value, HarnessError) and not isinstance(raised.value, LaneError)
    found = await relay.find_lane("ws", "taken")
    assert found is not None and not found.dead
