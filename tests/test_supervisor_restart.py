"""Restart policy as the supervisor applies it, with real processes in real tmux.

The backoff grows with each consecutive failed run (it used to be reset on every start),
observed through the attempts and delays the supervisor publishes, not the clock; and
`on-failure` leaves a lane whose program exited cleanly (status 0) stopped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.lanes import published
from laneboard.lanes.events import LaneRestartScheduled
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.tmux import async_wait_until
from tests.test_supervisor import recording

pytestmark = pytest.mark.tmux


@pytest.fixture
def state(tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def lane(script: str, restart: str) -> bytes:
    """A lane that prints READY, then runs `script` (a short life, then an exit)."""
    return f"""\
version: 1
lanes:
  short:
    role: helper
    harness: command
    fence: full
    command: [sh, -c, 'echo READY; {script}']
    ready: "READY\\\\s*$"
    restart: {restart}
""".encode()


async def test_restart_delay_doubles_with_each_consecutive_failure(state: Path) -> None:
    loaded = parse_config(
        lane("sleep 0.2; exit 1", "{policy: always, backoff_s: 0.05, backoff_max_s: 0.3, burst: 6}"),
        "cfg.yaml",
    )
    sup = Supervisor(loaded, workspace=state)
    seen_attempts: list[int] = []
    try:
        async with recording(sup, LaneRestartScheduled) as scheduled:

            def watch_published() -> bool:
                pub = published.read(sup.socket, sup.session, "short")
                if pub is not None and pub.state == "restarting" and pub.attempt not in seen_attempts:
                    seen_attempts.append(pub.attempt)
                return sup.lanes["short"].state == "failed"

            await sup.start(["short"])
            await async_wait_until(watch_published, timeout=60)
        delays = [ev.delay_s for ev in scheduled]
        assert [ev.attempt for ev in scheduled] == [1, 2, 3, 4, 5]
        assert delays == [0.05, 0.1, 0.2, 0.3, 0.3]  # doubling, then the cap
        assert "start limit" in (sup.lanes["short"].last_error or "")
        # what other processes read grows the same way (polling may miss a quick one)
        assert seen_attempts and seen_attempts == sorted(seen_attempts)
        final = published.read(sup.socket, sup.session, "short")
        assert final is not None and final.state == "failed" and final.attempt == 5
    finally:
        await sup.stop_all()
        await sup.close()


async def test_on_failure_does_not_restart_a_clean_exit(state: Path) -> None:
    loaded = parse_config(lane("sleep 0.2; exit 0", "{policy: on-failure, backoff_s: 0.05}"), "cfg.yaml")
    sup = Supervisor(loaded, workspace=state)
    try:
        async with recording(sup, LaneRestartScheduled) as scheduled:
            await sup.start(["short"])
            rt = sup.lanes["short"]
            await async_wait_until(lambda: rt.state == "stopped", timeout=30)
        assert scheduled == [] and rt.restarts == 0
        assert "status 0" in rt.detail and rt.last_error is None
        # publications are written behind, on the supervisor's publisher thread: other
        # processes see the change moments later, never a torn file
        await async_wait_until(
            lambda: (pub := published.read(sup.socket, sup.session, "short")) is not None
            and pub.state == "stopped", timeout=10)
    finally:
        await sup.stop_all()
        await sup.close()


async def test_on_failure_still_restarts_a_failed_exit(state: Path) -> None:
    loaded = parse_config(lane("sleep 0.2; exit 4", "{policy: on-failure, backoff_s: 0.05}"), "cfg.yaml")
    sup = Supervisor(loaded, workspace=state)
    try:
        async with recording(sup, LaneRestartScheduled) as scheduled:
            await sup.start(["short"])
            await async_wait_until(lambda: bool(scheduled), timeout=30)
        assert scheduled[0].attempt == 1 and "status 4" in scheduled[0].reason
    finally:
        await sup.stop_all()
        await sup.close()
