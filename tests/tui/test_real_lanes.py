"""The cockpit on a real Supervisor with `command` lanes on a private tmux socket:
a typed prompt reaches the lane through tmux, its answer streams into the pane, and the
attach key targets a window that exists."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from laneboard.harnesses.ansi import strip
from laneboard.lanes.loading import load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.app import make_app
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.tmux


async def test_prompt_reaches_command_lane_and_answer_streams(
    real_supervisor: Supervisor, command_config: Path
) -> None:
    attached: list[list[str]] = []
    app = make_app(load_file(str(command_config)), real_supervisor, motion=False,
                   attach_runner=lambda argv: attached.append(list(argv)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main_screen
        await wait_for(lambda: all(rt.state == "ready" for rt in real_supervisor.lanes.values()),
                       timeout=20)

        def pane() -> str:
            return strip("\n".join(screen.pane.lines))

        await wait_for(lambda: "READY>" in pane(), timeout=10)  # the lane's own output
        await pilot.press(*"hello lanes")
        assert screen.preview.decision.lane == "main"
        await pilot.press("enter")
        await wait_for(lambda: "answer: senal olleh" in pane(), timeout=20)
        await wait_for(lambda: "✓ done" in pane(), timeout=20)

        await pilot.press(*"help me", "enter")  # rule "help" → the helper lane
        await wait_for(lambda: screen.selected == "helper")
        await wait_for(lambda: "answer: em pleh" in pane(), timeout=20)

        app.suspend = _no_suspend  # type: ignore[method-assign]
        await pilot.press("ctrl+o")
        await wait_for(lambda: attached)
        argv = attached[0]
        target = argv[argv.index("select-window") + 2]
        probe = subprocess.run([*argv[:3], "display-message", "-p", "-t", target,
                                "#{@laneboard_lane}"], capture_output=True, text=True, check=False)
        assert probe.stdout.strip() == "helper", probe.stderr


class _NoSuspend:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _no_suspend() -> _NoSuspend:
    return _NoSuspend()
