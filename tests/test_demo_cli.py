"""`laneboard demo` as a person runs it: in a real terminal (a tmux pane on a private
socket), then the terminal closes or the process is killed — the demo's tmux server and
temporary files must go with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.tmux import wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


@pytest.fixture
def outer() -> Iterator[list[str]]:
    name = f"lb-demo-{uuid.uuid4().hex[:8]}"
    yield ["tmux", "-L", name, "-f", "/dev/null"]
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


def _server_alive(socket: str) -> bool:
    probe = subprocess.run(["tmux", "-L", socket, "list-sessions"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_demo_cleans_up_when_killed_or_its_terminal_closes(
    outer: list[str], tmp_path: Path, how: str
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        "TMPDIR": str(tmpdir),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        # no agent CLIs on PATH: the demo's imitation lanes are enough here
        "PATH": os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if "node_modules" not in p
        ),
    }
    clean = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    subprocess.run(
        [*outer, "new-session", "-d", "-s", "d", "-x", "120", "-y", "32",
         "env", *[f"{k}={v}" for k, v in env.items()],
         sys.executable, "-m", "laneboard", "demo"],
        check=True, env=clean,
    )  # fmt: skip

    def screen() -> str:
        return subprocess.run([*outer, "capture-pane", "-p", "-t", "=d:"], capture_output=True,
                              text=True, check=False).stdout  # fmt: skip

    try:
        wait_until(lambda: "laneboard · demo" in screen() and "● ready" in screen(), timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{screen()}") from None
    pid = int(subprocess.run([*outer, "display", "-p", "-t", "=d:", "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout)  # fmt: skip
    socket = f"laneboard-demo-{pid}"
    assert _server_alive(socket)
    assert any(tmpdir.glob("laneboard-demo-*"))

    if how == "SIGTERM":
        os.kill(pid, signal.SIGTERM)
    else:  # the terminal goes away: tmux hangs up on the pane's process
        subprocess.run([*outer, "kill-server"], check=True)

    wait_until(lambda: not _server_alive(socket), timeout=30)
    wait_until(lambda: not any(tmpdir.glob("laneboard-demo-*")), timeout=30)


def test_demo_print_config_needs_no_terminal(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "laneboard", "demo", "--print-config"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "lanes:" in out.stdout
    assert not any(tmp_path.glob("laneboard-demo-*"))


def test_demo_refuses_a_redirected_stderr_before_starting_anything(tmp_path: Path) -> None:
    """Textual draws on stderr: `laneboard demo 2>log` would paint into the file."""
    out = subprocess.run(
        [sys.executable, "-m", "laneboard", "demo"],
        capture_output=True, text=True, check=False, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 2
    assert "stderr, which is redirected" in out.stderr
    assert "Traceback" not in out.stderr
    assert not any(tmp_path.glob("laneboard-demo-*"))



def test_cockpit_refuses_a_redirected_stderr(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "laneboard"],
        capture_output=True, text=True, check=False, timeout=60, stdin=subprocess.DEVNULL,
        cwd=tmp_path, env={**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert out.returncode == 2
    assert "the cockpit draws on the terminal through stderr" in out.stderr
    assert "Traceback" not in out.stderr


if shutil.which("tmux") is None:  # CI installs tmux; say so loudly rather than skip
    raise RuntimeError("tmux is required for these tests (scripts/test.sh installs it)")
