"""The base layer: the hub delivers from the moment of subscribing, the registry's rows load
their real classes, the shared helpers answer as documented."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from laneboard.core.harness_kinds import KINDS, kind
from laneboard.core.http_status import kind_for_status
from laneboard.core.hub import Hub
from laneboard.core.procs import pid_alive
from laneboard.core.vocabulary import FENCES, HarnessName, fence_rank


async def test_a_subscriber_sees_what_is_published_before_it_first_iterates() -> None:
    hub: Hub[str] = Hub()
    sub = hub.subscribe()
    hub.publish("starting")  # before the first `async for` step: the old hubs lost this
    hub.publish("ready")
    hub.close()
    assert [x async for x in sub] == ["starting", "ready"]
    assert hub.subscribers == 0


async def test_a_closed_subscription_receives_nothing_more() -> None:
    hub: Hub[int] = Hub()
    a, b = hub.subscribe(), hub.subscribe()
    b.close()
    hub.publish(1)
    hub.close()
    assert [x async for x in a] == [1]
    assert [x async for x in b] == []
    await asyncio.sleep(0)


def test_every_harness_name_has_a_row_whose_class_loads() -> None:
    from typing import get_args

    assert set(KINDS) == set(get_args(HarnessName))
    for row in KINDS.values():
        cls = row.load()
        assert getattr(cls, "kind", row.name) == row.name, (row.name, cls)
    with pytest.raises(KeyError, match="known: claude-code"):
        kind("emacs")


@pytest.mark.parametrize(("status", "want"), [
    (401, "auth"), (403, "auth"), (404, "not-found"), (429, "rate-limit"), (400, "bad-request"),
    (422, "bad-request"), (500, "server"), (503, "server"),
])
def test_status_kinds(status: int, want: str) -> None:
    assert kind_for_status(status) == want


def test_pid_alive_says_a_zombie_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    # not reaped yet: a zombie once it exits; wait for /proc to say so (deadline, no sleep)
    import time

    deadline = time.monotonic() + 30
    while pid_alive(child.pid):
        assert time.monotonic() < deadline, "the child never exited"
        os.sched_yield()
    assert child.poll() == 0  # reaped now
    assert pid_alive(os.getpid()) and not pid_alive(0)


def test_fence_order() -> None:
    assert [fence_rank(f) for f in FENCES] == [0, 1, 2, 3]
