"""The supervisor with real processes in real tmux (private socket), and a stand-in model.

Fault tests: kill -9 a lane → restarted with backoff; a lane that exits at once → failed
after the start limit; the supervisor dies → lanes live on → a new supervisor adopts them
without restarting; concurrent sends to one lane arrive one after the other, intact;
failover on 429 for a configured default, strict failure for an explicit choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import pytest

from laneboard.config import parse_config
from laneboard.harnesses.base import Harness, HarnessSpec
from laneboard.lanes.events import LaneErrored, LaneStateChanged, ModelSwitched
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import DEGENERATE_TOKEN, Reply, StandinServer
from tests.fixtures.lanes import claude_lane_config
from tests.fixtures.tmux import async_wait_until

pytestmark = pytest.mark.tmux

# A tiny REPL: prints a ready marker, then answers each line with "echo: <line>".
REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("echo: " + line.rstrip("\\n"), flush=True)
        print("READY>", flush=True)
    """
)


@pytest.fixture
def lane_env_setup(tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "repl.py").write_text(REPL)
    return tmp_path


def command_config(tmp: Path, *, restart: str = "{backoff_s: 0.05, burst: 3, interval_s: 60}", extra: str = "") -> bytes:
    py = sys.executable
    text = f"""\
version: 1
lanes:
  echo:
    role: helper
    harness: command
    command: [{py}, -u, {tmp / 'repl.py'}]
    ready: "READY>\\\\s*$"
    restart: {restart}
  flaky:
    role: helper
    harness: command
    command: [sh, -c, "exit 3"]
    restart: {{backoff_s: 0.01, burst: 3, interval_s: 60}}
{extra}"""
    return text.encode()


async def states(sup: Supervisor, lane: str) -> list[str]:
    return [sup.lanes[lane].state]


E = TypeVar("E")


@contextlib.asynccontextmanager
async def recording(sup: Supervisor, kind: type[E]) -> AsyncIterator[list[E]]:
    """Collect the supervisor's events of one kind while the block runs."""
    seen: list[E] = []

    async def watch() -> None:
        async for ev in sup.subscribe():
            if isinstance(ev, kind):
                seen.append(ev)

    watcher = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        watcher.cancel()


async def test_kill_9_lane_is_restarted_with_backoff(lane_env_setup: Path) -> None:
    loaded = parse_config(command_config(lane_env_setup), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        async with recording(sup, LaneStateChanged) as changes:
            await sup.start(["echo"])
            rt = sup.lanes["echo"]
            assert rt.state == "ready" and rt.pid
            first_pid = rt.pid
            os.kill(first_pid, signal.SIGKILL)
            await async_wait_until(lambda: rt.restarts == 1 and rt.state == "ready", timeout=20)
            assert rt.pid and rt.pid != first_pid
            assert "restarting" in [c.state for c in changes if c.lane == "echo"]
            result = await sup.send("echo", "after restart", timeout=20)
            assert "echo: after restart" in result.reply
    finally:
        await sup.stop_all()
        await sup.close()


async def test_lane_that_exits_at_once_fails_after_start_limit(lane_env_setup: Path) -> None:
    loaded = parse_config(command_config(lane_env_setup), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        await sup.start(["flaky"])
        rt = sup.lanes["flaky"]
        await async_wait_until(lambda: rt.state == "failed", timeout=30)
        assert "start limit" in (rt.last_error or "") or "could not start" in (rt.last_error or "")
        assert len(rt.history.starts) <= 3
        # a person restarting it by hand clears the limit and tries again
        await sup.start_lane("flaky", by_user=True)
        assert len(rt.history.starts) >= 1
    finally:
        await sup.stop_all()
        await sup.close()


async def test_user_stop_is_never_restarted(lane_env_setup: Path) -> None:
    loaded = parse_config(command_config(lane_env_setup), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        await sup.start(["echo"])
        await sup.stop_lane("echo")
        rt = sup.lanes["echo"]
        assert rt.state == "stopped" and rt.restarts == 0
        await sup.observe()
        assert rt.state == "stopped"
    finally:
        await sup.close()


def test_supervisor_killed_lanes_survive_and_are_adopted(lane_env_setup: Path, tmux_socket: str) -> None:
    cfg = lane_env_setup / "cfg.yaml"
    cfg.write_bytes(command_config(lane_env_setup))
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket, "LANEBOARD_STATE_DIR": str(lane_env_setup / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard.cli", "up", "--headless", "--config", str(cfg)],
        cwd=lane_env_setup, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the supervisor prints one line per event
            if "laneboard up:" in line:
                break
        else:
            raise AssertionError("laneboard up did not start")
    finally:
        proc.kill()  # SIGKILL: no clean-up code runs
        proc.wait(timeout=10)

    async def adopt() -> None:
        loaded = parse_config(cfg.read_bytes(), str(cfg))
        sup = Supervisor(loaded, workspace=lane_env_setup)
        try:
            await sup.observe()
            before = sup.lanes["echo"].pid
            assert sup.lanes["echo"].state == "ready" and before
            await sup.start(["echo"])
            rt = sup.lanes["echo"]
            assert rt.state == "ready" and rt.detail == "adopted", (rt.state, rt.detail, rt.last_error)
            assert rt.pid == before  # same process, not restarted
            result = await sup.send("echo", "still here", timeout=20)
            assert "echo: still here" in result.reply
        finally:
            await sup.stop_all()
            await sup.close()

    asyncio.run(adopt())


async def test_concurrent_sends_to_one_lane_are_serialised_intact(lane_env_setup: Path) -> None:
    loaded = parse_config(command_config(lane_env_setup), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        await sup.start(["echo"])
        prompts = [f"message {i} " + "x" * 300 + f" end {i}" for i in range(2)]
        results = await asyncio.gather(*(sup.send("echo", p, timeout=30) for p in prompts))
        for prompt, result in zip(prompts, results, strict=True):
            assert f"echo: {prompt}" in result.reply
            other = prompts[1 - prompts.index(prompt)]
            assert other not in result.reply
    finally:
        await sup.stop_all()
        await sup.close()


FAILOVER = """\
version: 1
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/primary:1b: {{alias: primary, tier: local}}
  ollama/backup:1b: {{alias: backup, tier: local}}
lanes:
  helper:
    role: helper
    harness: ollama
    model: primary
    fallbacks: [backup]
"""


async def test_failover_on_429_and_strict_explicit_choice(
    standin: StandinServer, lane_env_setup: Path
) -> None:
    standin.models = ["primary:1b", "backup:1b"]

    def reply(request: object) -> Reply:
        model = getattr(request, "model", None)
        if model == "primary:1b":
            return Reply.error(429, "slow down")
        return Reply.text(f"answered by {model}")

    standin.set_default(reply)
    loaded = parse_config(FAILOVER.format(url=standin.url).encode(), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        async with recording(sup, ModelSwitched) as switched:
            result = await sup.send("helper", "hello", timeout=20)
            assert result.state == "done", result.error
            assert result.reply == "answered by backup:1b"
            assert sup.lanes["helper"].candidate is not None
            assert sup.lanes["helper"].candidate.key == "ollama/backup:1b"
            await async_wait_until(lambda: bool(switched), timeout=5)
            assert not switched[0].explicit and "rate-limit" in switched[0].reason

            await sup.switch_model("helper", "primary")
            result = await sup.send("helper", "hello again", timeout=20)
            assert result.state == "failed"
            assert "no fallback" in (result.error or "")
            assert sup.lanes["helper"].candidate.key == "ollama/primary:1b"  # type: ignore[union-attr]
    finally:
        await sup.close()


# ---------------------------------------------------------------- provider locks

PROVIDERS = """\
version: 1
providers:
  ollama-a: {{harness: ollama, base_url: "{url}"}}
  ollama-b: {{harness: ollama, base_url: "{url}"}}
models:
  ollama-a/alpha:1b: {{alias: alpha, tier: local}}
  ollama-b/beta:1b: {{alias: beta, tier: local}}
lanes:
  a1: {{role: helper, harness: ollama, model: alpha}}
  a2: {{role: helper, harness: ollama, model: alpha}}
  b1: {{role: helper, harness: ollama, model: beta}}
"""


def overlap(x: tuple[float, float], y: tuple[float, float]) -> float:
    """Seconds two [start, end] spans share (negative: the gap between them)."""
    return min(x[1], y[1]) - max(x[0], y[0])


async def test_runs_sharing_a_provider_profile_serialise_other_providers_run_in_parallel(
    standin: StandinServer, lane_env_setup: Path
) -> None:
    """a1 and a2 share provider `ollama-a`; b1 is on `ollama-b` (same endpoint, another
    profile). Each answer streams for about a second; the stand-in's own timestamps say
    which model calls overlapped."""
    standin.models = ["alpha:1b", "beta:1b"]
    standin.set_default(lambda request: Reply.slow("one two three four five six seven", 0.15))
    loaded = parse_config(PROVIDERS.format(url=standin.url).encode(), "cfg.yaml")
    sup = Supervisor(loaded, workspace=lane_env_setup)
    try:
        assert sup.provider_profile(sup.lanes["a1"]) == sup.provider_profile(sup.lanes["a2"])
        assert sup.provider_profile(sup.lanes["b1"]) == "ollama-b"
        results = await asyncio.gather(
            *(sup.send(lane, f"from {lane}", timeout=30) for lane in ("a1", "a2", "b1"))
        )
        assert [r.state for r in results] == ["done"] * 3, [r.error for r in results]
    finally:
        await sup.close()
    calls = {c.prompt: c for c in standin.calls("ollama")}
    spans: dict[str, tuple[float, float]] = {}
    for lane in ("a1", "a2", "b1"):
        call = calls[f"from {lane}"]
        assert call.finished is not None
        spans[lane] = (call.received, call.finished)
    assert overlap(spans["a1"], spans["a2"]) < 0.05  # one after the other (a hair: clocks)
    first_a = min(spans["a1"], spans["a2"])
    assert overlap(first_a, spans["b1"]) > 0.5  # side by side


# ---------------------------------------------------------------- the watchdog

DEGENERATE_REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        try:
            while True:
                sys.stdout.write("<unused50>")
                sys.stdout.flush()
        except KeyboardInterrupt:
            print("\\nstopped", flush=True)
        print("READY>", flush=True)
    """
)


async def test_supervisor_watchdog_interrupts_a_lane_repeating_a_token(
    lane_env_setup: Path,
) -> None:
    """A pane lane whose harness does not watch its own output (as claude-code and codex
    do not): the supervisor reads the pane stream, interrupts the lane and says why."""
    from laneboard.harnesses.command import CommandHarness

    (lane_env_setup / "degenerate.py").write_text(DEGENERATE_REPL)
    extra = f"""\
  broken:
    role: helper
    harness: command
    command: [{sys.executable}, -u, {lane_env_setup / 'degenerate.py'}]
    ready: "READY>\\\\s*$"
"""
    loaded = parse_config(command_config(lane_env_setup, extra=extra), "cfg.yaml")

    def no_own_watchdog(spec: HarnessSpec, sup: Supervisor) -> Harness:
        return CommandHarness(spec, relay=sup.relay, session=sup.session, watchdog=None)

    sup = Supervisor(loaded, workspace=lane_env_setup, factory=no_own_watchdog)
    try:
        async with recording(sup, LaneErrored) as errors:
            await sup.start(["broken"])
            rt = sup.lanes["broken"]
            result = await sup.send("broken", "go", timeout=60)
            assert result.state == "failed"
            assert "watchdog" in (result.error or "") and "<unused50>" in (result.error or "")
            assert [e.kind for e in errors] == ["watchdog"]  # one trip, one event
            assert rt.state == "ready" and rt.harness is not None  # interrupted, not killed
            # the next turn starts with a fresh watchdog
            assert (await sup.send("broken", "again", timeout=60)).state == "failed"
            assert [e.kind for e in errors] == ["watchdog", "watchdog"]
    finally:
        await sup.stop_all()
        await sup.close()


@pytest.mark.slow
@pytest.mark.usefixtures("claude_binary")
async def test_supervisor_watchdog_stops_claude_code_repeating_a_token(
    standin: StandinServer, lane_env_setup: Path
) -> None:
    """The real Claude Code in a pane, its model streaming `<unused50>` without end: the
    harness reads answers from the transcript, so the supervisor watches the pane."""
    workspace = lane_env_setup / "ws"
    workspace.mkdir()
    text = claude_lane_config(standin.url, workspace, lane_env_setup / "claude-config")
    standin.script(Reply.endless(DEGENERATE_TOKEN, count=400_000, delay=0.0005))
    sup = Supervisor(parse_config(text.encode(), "cfg.yaml"), workspace=workspace)
    try:
        async with recording(sup, LaneErrored) as errors:
            result = await sup.send("review", "review the code please", timeout=90)
            assert result.state == "failed", result
            assert "watchdog" in (result.error or "")
            assert [e.kind for e in errors] == ["watchdog"]
        # the streamed call that got the endless reply was cut off, not run to its end
        # (through the gateway, Claude Code may then retry without streaming)
        call = next(c for c in standin.calls("anthropic")
                    if isinstance(c.body, dict) and c.body.get("stream"))
        assert call.finished is None
        rt = sup.lanes["review"]
        assert rt.state == "ready" and rt.harness is not None  # interrupted, still running
        assert (await rt.harness.health()).alive
    finally:
        await sup.stop_all()
        await sup.close()
