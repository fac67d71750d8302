"""Shared test set-up. Fixture modules live in tests/fixtures/, one per kind of real part."""

from __future__ import annotations

import contextlib
import os
import signal
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

# No test may reach laneboard's real default tmux socket (`laneboard`), the one a user's own
# cockpit runs on. A test sets its own socket; whatever runs after its monkeypatch is undone
# (a worker or task that outlived its test) falls back to this run's socket instead, which
# `pytest_sessionfinish` ends — and reports, since such a late start is a bug to find.
RUN_SOCKET = f"lb-run-{os.getpid()}"
os.environ["LANEBOARD_TMUX_SOCKET"] = RUN_SOCKET

pytest_plugins = [
    f"tests.fixtures.{name}"
    for name in ("standins", "tmux", "gateway")
    if (Path(__file__).parent / "fixtures" / f"{name}.py").exists()
]


def _started_by(pid: int, nodeid: str) -> bool:
    """Whether process `pid` was started under the test `nodeid`: pytest puts
    PYTEST_CURRENT_TEST in the environment during each test, and every process a test
    starts (a tmux server, a gateway) inherits it."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    marker = b"PYTEST_CURRENT_TEST=" + nodeid.encode()
    return any(var.startswith(marker) for var in environ.split(b"\0"))


def _processes(needle: bytes) -> set[int]:
    """Pids whose command line holds `needle` (read from /proc; nothing is spawned)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def _no_leftover_servers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever tmux server or model gateway a test started ends with the test.

    A supervisor with a model-talking lane starts the gateway in its tmux server's hidden
    window, so a test that set LANEBOARD_TMUX_SOCKET without the `tmux_socket` fixture (or
    was stopped half-way) used to leave a tmux server and a ~50 MB gateway behind — hundreds
    of them over one run. Only processes this very test started are ended (matched by the
    PYTEST_CURRENT_TEST they inherited), so a second test run beside this one is safe."""
    yield
    nodeid = request.node.nodeid
    for pid in _processes(b"laneboard\0gateway\0run") | _processes(b"tmux\0"):
        if pid != os.getpid() and _started_by(pid, nodeid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """End the run-wide fallback tmux server, naming the tests that started it."""
    starters: set[str] = set()
    for pid in _processes(RUN_SOCKET.encode()):
        with contextlib.suppress(OSError):
            if pid == os.getpid() or b"tmux" not in Path(f"/proc/{pid}/comm").read_bytes():
                continue
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            starters |= {v.split(b"=", 1)[1].decode(errors="replace") for v in environ
                         if v.startswith(b"PYTEST_CURRENT_TEST=")} or {"between tests"}
            os.kill(pid, signal.SIGTERM)
    if starters:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"warning: a tmux server outlived its test on the run-wide socket {RUN_SOCKET}"
                f" (started under: {', '.join(sorted(starters))})", yellow=True)


def _installed(name: str) -> str:
    """A program the test command installs. Never a skip: a missing one is a broken set-up
    that must show as a failure, not as a quietly skipped test."""
    import shutil

    found = shutil.which(name)
    assert found, f"{name} is not on PATH: run `bash scripts/test.sh`, which installs it"
    return found


@pytest.fixture
def claude_binary() -> str:
    return _installed("claude")


@pytest.fixture
def codex_binary() -> str:
    return _installed("codex")


@pytest.fixture
def tmux_binary() -> str:
    return _installed("tmux")


@pytest.fixture
def repo_root() -> Path:
    return ROOT
