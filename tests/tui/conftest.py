"""Fixtures for the cockpit's tests.

`cockpit` builds the app around a real `Supervisor` whose lanes run `EchoHarness` (no
tmux: fast, deterministic Pilot tests of every binding and flow). `command_config` writes
a config of real `command` lanes (a tiny REPL) for the tests on a private tmux socket.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from laneboard.config import LoadedConfig
from laneboard.harnesses.ansi import strip
from laneboard.harnesses.base import HarnessSpec
from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import LaneboardApp, make_app
from tests.fixtures.tmux import async_wait_until
from tests.tui.fakes import EchoHarness

HERE = Path(__file__).parent
CONFIG = HERE / "cockpit.yaml"

# A REPL like an agent CLI: a ready marker, then one answer per line.
REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("answer: " + line.rstrip("\\n")[::-1], flush=True)
        print("READY>", flush=True)
    """
)


@pytest.fixture
def state_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lane state and the tmux socket name point at this test only."""
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", f"lb-tui-{uuid.uuid4().hex[:8]}")
    monkeypatch.delenv("NO_COLOR", raising=False)
    workspace = tmp_path / "demo"  # fixed name: the tmux session is `lb-demo`
    workspace.mkdir()
    return workspace


@pytest.fixture
def loaded() -> LoadedConfig:
    return load_file(str(CONFIG))


@dataclass
class Cockpit:
    """An app under test, its supervisor and the fake harness of each lane."""

    app: LaneboardApp
    sup: Supervisor
    harnesses: dict[str, EchoHarness]
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    attached: list[list[str]] = field(default_factory=list)

    @property
    def screen(self):  # type: ignore[no-untyped-def]
        return self.app.main_screen

    def pane_text(self) -> str:
        return strip("\n".join(self.screen.pane.lines))


@pytest.fixture
def cockpit(state_env: Path, loaded: LoadedConfig) -> Iterator[Callable[..., Cockpit]]:
    """Build a cockpit on EchoHarness lanes; `gated=("main",)` holds those lanes' turns,
    `replies={"triage": lambda p: "SKIP"}` gives a lane its own answers."""
    made: list[Cockpit] = []

    def build(*, gated: tuple[str, ...] = (), autostart: bool = True,
              replies: dict[str, Callable[[str], str]] | None = None, **kw: object) -> Cockpit:
        harnesses: dict[str, EchoHarness] = {}
        gates = {lane: asyncio.Event() for lane in gated}

        def factory(spec: HarnessSpec, sup: Supervisor) -> EchoHarness:
            h = EchoHarness(spec, gate=gates.get(spec.lane), reply=(replies or {}).get(spec.lane))
            harnesses[spec.lane] = h
            return h

        sup = Supervisor(loaded, workspace=state_env, factory=factory)
        attached: list[list[str]] = []
        app = make_app(loaded, sup, autostart=autostart, motion=False,
                       attach_runner=lambda argv: attached.append(list(argv)),
                       artifacts=kw.pop("artifacts", None), preflight=kw.pop("preflight", None))  # type: ignore[arg-type]
        c = Cockpit(app, sup, harnesses, gates, attached)
        made.append(c)
        return c

    yield build


async def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """A condition with a deadline (the app runs in this loop meanwhile)."""
    await async_wait_until(predicate, timeout=timeout)


@pytest.fixture
def command_config(state_env: Path) -> Path:
    """A config with two real `command` lanes (the REPL) and a rule between them."""
    repl = state_env.parent / "repl.py"
    repl.write_text(REPL)
    py = sys.executable
    cfg = state_env.parent / "cockpit-command.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        version: 1
        lanes:
          main:
            role: orchestrator
            harness: command
            command: [{py}, -u, {repl}]
            ready: "READY>\\\\s*$"
          helper:
            role: helper
            harness: command
            command: [{py}, -u, {repl}]
            ready: "READY>\\\\s*$"
        routing:
          default: main
          rules:
            - {{name: help, match: {{prefix: "help"}}, lane: helper}}
        """))
    return cfg


@pytest.fixture
async def real_supervisor(command_config: Path, tmux_socket: str,
                          monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Supervisor]:
    """A real supervisor on a private tmux socket; its lanes are stopped afterwards."""
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    sup = Supervisor(load_file(str(command_config)), workspace=command_config.parent / "demo")
    try:
        yield sup
    finally:
        await sup.stop_all()
        await sup.close()
        await sup.relay.close()
