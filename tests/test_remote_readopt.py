"""Re-adoptions are not starts (lanes/restart.py): a remote lane whose SSH link drops more
often than its start limit allows is re-adopted every time, never marked failed, and its
first real death afterwards is still restarted — the limit counts processes laneboard
started, not links it reopened.

Real parts: a real sshd on 127.0.0.1 (tests/fixtures/sshd.py), the supervisor's real
ControlMaster (SIGKILLed by pid: a process this test's supervisor started), the real tmux
server on the "host", a real command lane.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.lanes.restart import StartHistory
from laneboard.lanes.supervisor import Supervisor
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until
from tests.test_remote_supervisor import config_text, remote_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

BURST = 2
DROPS = BURST + 2


def test_an_adoption_takes_back_the_start_it_recorded() -> None:
    """The arithmetic alone, on an injected clock: starts, adoptions, the limit."""
    from laneboard.config import RestartPolicy

    now = [100.0]
    history = StartHistory(RestartPolicy(burst=BURST, interval_s=60), clock=lambda: now[0])
    history.record_start()  # the first real start
    for _ in range(DROPS):
        now[0] += 1
        history.record_start()
        history.adopted()
    assert not history.limit_reached() and history.adoptions == DROPS
    history.record_start()  # a real restart: the limit counts it
    assert history.limit_reached()


async def test_readoptions_beyond_the_start_limit_neither_fail_nor_use_up_restarts(
    sshd: Sshd, remote_env: Path  # noqa: F811
) -> None:
    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(
        config_text(sshd, tmp).replace("burst: 3", f"burst: {BURST}")
    )
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["echo"])
        rt = sup.lanes["echo"]
        assert rt.state == "ready", rt.last_error
        assert rt.config.restart.burst == BURST
        pid = rt.pid
        assert pid is not None
        link = sup.relays.link("box")
        seen_states: list[str] = []

        for drop in range(DROPS):
            harness, master = rt.harness, link.master_pid
            assert master is not None
            os.kill(master, signal.SIGKILL)

            def readopted(old: object = harness) -> bool:
                seen_states.append(rt.state)
                return rt.harness is not None and rt.harness is not old and rt.state == "ready"

            await async_wait_until(readopted, timeout=90)
            assert rt.harness is not None and rt.harness.adopted, drop
            assert rt.pid == pid and rt.restarts == 0, (drop, rt.pid, rt.restarts)
        assert "failed" not in seen_states
        assert rt.history.adoptions == DROPS and len(rt.history.starts) == 1
        again = await sup.send("echo", "still here", timeout=60)
        assert "echo: still here" in again.reply, again

        # the first real death after all those drops: restarted, not "start limit reached"
        os.kill(pid, signal.SIGKILL)
        await async_wait_until(
            lambda: rt.state == "failed" or (rt.restarts == 1 and rt.state == "ready"),
            timeout=90,
        )
        assert rt.state == "ready" and rt.restarts == 1, (rt.state, rt.last_error)
        assert rt.pid not in (None, pid)
    finally:
        await sup.close()
