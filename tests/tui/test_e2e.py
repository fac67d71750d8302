"""End to end, as a person would: `laneboard --config CFG` runs inside a real tmux pane
(an outer private socket), keys are typed with send-keys and the screen is read with
capture-pane. The lanes themselves run on another private socket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


@pytest.fixture
def outer_socket() -> Iterator[str]:
    assert shutil.which("tmux"), "tmux is not on PATH: run `bash scripts/test.sh`, which installs it"
    name = f"lb-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


REPO = Path(__file__).resolve().parents[2]


def test_cockpit_in_a_real_terminal(command_config: Path, tmux_socket: str, outer_socket: str,
                                    tmp_path: Path) -> None:
    # `python -m laneboard` from this checkout: the code under test, whatever an installed
    # `laneboard` script (or a pyenv shim, which needs the real HOME) would run.
    argv = [sys.executable, "-m", "laneboard"]
    env = {
        "LANEBOARD_TMUX_SOCKET": tmux_socket,
        "LANEBOARD_STATE_DIR": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
    }
    workspace = command_config.parent / "demo"
    tmux = ["tmux", "-L", outer_socket, "-f", "/dev/null"]
    clean = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "32", "-c", str(workspace),
         "env", *[f"{k}={v}" for k, v in env.items()], *argv, "--config", str(command_config)],
        check=True, env=clean,
    )

    def screen() -> str:
        out = subprocess.run([*tmux, "capture-pane", "-p", "-t", "=e2e:"], capture_output=True,
                             text=True, check=False)
        return out.stdout

    def keys(*k: str, literal: bool = False) -> None:
        subprocess.run([*tmux, "send-keys", "-t", "=e2e:", *(["-l"] if literal else []), *k],
                       check=True)

    def shows(*needles: str, timeout: float = 30) -> None:
        try:
            wait_until(lambda: all(n in screen() for n in needles), timeout=timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}\nwanted {needles!r}; the screen:\n{screen()}") from None

    shows("helper", "● ready")
    wait_until(lambda: screen().count("● ready") >= 2, timeout=30)
    assert "lb-demo" in screen()
    shows("READY>")
    keys("hello lanes", literal=True)
    shows("→ main")  # the route preview
    keys("Enter")
    shows("answer: senal olleh")
    keys("help me", literal=True)
    shows("→ helper")
    keys("Enter")
    shows("answer: em pleh")
    keys("C-q")
    wait_until(lambda: subprocess.run([*tmux, "has-session", "-t", "=e2e"],
                                      capture_output=True, check=False).returncode != 0,
               timeout=15)
    # quitting detached: the lanes still run on their own socket
    lanes = subprocess.run(["tmux", "-L", tmux_socket, "list-windows", "-a", "-F",
                            "#{@laneboard_lane}"], capture_output=True, text=True, check=False)
    assert {"main", "helper"} <= set(lanes.stdout.split())
