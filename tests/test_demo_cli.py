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
        # agent CLIs off PATH (the demo still finds the checkout's .cache/npm)
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


def _descendant_cmdlines(pid: int) -> list[str]:
    """Command lines of `pid` and every process below it (read from /proc)."""
    out: list[str] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            out.append(Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


def _path_without_agent_clis() -> str:
    return os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if "node_modules" not in p
    )


def test_demo_finds_the_clis_the_test_command_installed(
    outer: list[str], tmp_path: Path, repo_root: Path
) -> None:
    """The README's two commands: after `bash scripts/test.sh` put the pinned CLIs into
    `.cache/npm`, `laneboard demo` (with nothing on PATH) runs the REAL claude and codex."""
    npm_bin = repo_root / ".cache" / "npm" / "node_modules" / ".bin"
    if not ((npm_bin / "claude").exists() and (npm_bin / "codex").exists()):
        raise RuntimeError("the test command installs claude and codex into .cache/npm first")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        "TMPDIR": str(tmpdir),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),  # no demo cache of its own: only the checkout's .cache/npm
        "PATH": _path_without_agent_clis(),
    }
    clean = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    subprocess.run(
        [*outer, "new-session", "-d", "-s", "d", "-x", "140", "-y", "36",
         "env", *[f"{k}={v}" for k, v in env.items()],
         sys.executable, "-m", "laneboard", "demo"],
        check=True, env=clean,
    )  # fmt: skip

    def screen() -> str:
        return subprocess.run([*outer, "capture-pane", "-p", "-t", "=d:"], capture_output=True,
                              text=True, check=False).stdout  # fmt: skip

    def rows_ready() -> bool:
        text = screen()
        return all(
            any(f" {lane} " in line and "● ready" in line and model in line
                for line in text.splitlines())
            for lane, model in (("main", "gpt-5.5 · orch"), ("review", "claude-opus-4-5 · esc"))
        )  # fmt: skip

    try:
        # imitation lanes are command lanes: no model column, and no Codex composer
        wait_until(lambda: rows_ready() and "Ask Codex to do anything" in screen(), timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{screen()}") from None
    assert "imitation" not in screen()
    pid = int(subprocess.run([*outer, "display", "-p", "-t", "=d:", "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout)  # fmt: skip
    panes = subprocess.run(
        ["tmux", "-L", f"laneboard-demo-{pid}", "list-panes", "-a", "-F", "#{window_name} #{pane_pid}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    pane_pids = dict(zip(panes[::2], map(int, panes[1::2]), strict=True))
    for lane, program in (("main", "codex"), ("review", "claude")):
        cmdlines = _descendant_cmdlines(pane_pids[lane])
        assert any(".cache/npm/node_modules" in c and program in c for c in cmdlines), cmdlines
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not _server_alive(f"laneboard-demo-{pid}"), timeout=30)


def test_demo_install_clis_installs_nothing_when_they_are_found(repo_root: Path, tmp_path: Path) -> None:
    """`--install-clis` is the offer for a machine without them; where the test command already
    put them it says where they are and leaves the demo's cache alone."""
    out = subprocess.run(
        [sys.executable, "-m", "laneboard", "demo", "--install-clis"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "PATH": _path_without_agent_clis(), "HOME": str(tmp_path),
             "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    npm_bin = repo_root / ".cache" / "npm" / "node_modules" / ".bin"
    assert f"claude: already found at {npm_bin / 'claude'}" in out.stdout
    assert f"codex: already found at {npm_bin / 'codex'}" in out.stdout
    assert not (tmp_path / "cache").exists()


def test_demo_config_uses_real_lanes_without_the_clis_on_path(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "laneboard", "demo", "--print-config"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "PATH": _path_without_agent_clis(), "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "harness: claude-code\n    mode: interactive" in out.stdout
    assert "harness: codex\n    mode: interactive" in out.stdout
    assert "harness: command" not in out.stdout


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
