"""Shared test set-up. Fixture modules live in tests/fixtures/, one per kind of real part."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
NPM_BIN = ROOT / ".cache" / "npm" / "node_modules" / ".bin"
if NPM_BIN.is_dir():
    # The test command installs the pinned agent CLIs here (never globally).
    os.environ["PATH"] = f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# CI explores the same hypothesis examples on every run (a red main must be reproducible);
# a developer's run explores new ones, so new counterexamples are still found before CI.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = [
    f"tests.fixtures.{name}"
    for name in ("standins", "tmux", "gateway")
    if (Path(__file__).parent / "fixtures" / f"{name}.py").exists()
]


def _tmux_sockets() -> set[Path]:
    folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
    try:
        return {folder / name for name in os.listdir(folder)}
    except OSError:
        return set()


def _gateway_pids() -> set[int]:
    """Processes running `laneboard gateway run` (read from /proc; nothing is spawned)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"laneboard\0gateway\0run" in cmdline:
                found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> Iterator[None]:
    """Whatever tmux server or model gateway a test started ends with the test.

    A supervisor with a model-talking lane starts the gateway in its tmux server's hidden
    window, so a test that set LANEBOARD_TMUX_SOCKET without the `tmux_socket` fixture (or
    was stopped half-way) used to leave a tmux server and a ~50 MB gateway behind — hundreds
    of them over one run. Only what appeared during this test is ended."""
    sockets, gateways = _tmux_sockets(), _gateway_pids()
    yield
    for sock in _tmux_sockets() - sockets:
        if sock.name in ("default", "laneboard"):
            continue  # a person's own servers are never a test's to end
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True,
                       check=False, timeout=30)
        sock.unlink(missing_ok=True)
    for pid in _gateway_pids() - gateways:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


@pytest.fixture
def repo_root() -> Path:
    return ROOT
