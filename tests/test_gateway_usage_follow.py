"""The lane table and usage screen show the gateway's numbers (issue #14, item 7).

A turn typed straight into an agent's pane, or sent by another laneboard process, reaches
the gateway without passing this supervisor's `send`, so the supervisor follows the
gateway's usage file: when it changes, the lane's usage is taken from it and a
`LaneUsageUpdated` is published — the event the cockpit's lane table and usage screen
redraw on. Real parts: a real Supervisor on a parsed config, the gateway's own usage file
format written by the gateway's own `Counters`, the cockpit's `LaneInfo` / `usage_text`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from laneboard.config import parse_config
from laneboard.gateway.counters import Counters
from laneboard.gateway.protocols import Usage
from laneboard.lanes.events import LaneUsageUpdated
from laneboard.lanes.gateway_route import usage_file
from laneboard.lanes.statefile import state_dir
from laneboard.lanes.supervisor import Supervisor
from laneboard.tui.state import LaneInfo, usage_text
from tests.fixtures.tmux import async_wait_until

CONFIG = """\
version: 1
providers:
  anthropic: {harness: claude-code, api_key_env: LB_TEST_ANTHROPIC_KEY}
models:
  anthropic/claude-opus-4-5: {alias: opus, tier: escalation, cost: {input: 5.0, output: 25.0}}
lanes:
  review: {role: reviewer, harness: claude-code, model: opus, fallbacks: [], fence: plan}
  direct: {role: reviewer, harness: claude-code, model: opus, fallbacks: [], fence: plan, gateway: false}
routing: {default: review}
"""


async def test_gateway_counts_reach_the_lane_table_without_a_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", "lb-follow-test")
    cfg_file = tmp_path / "laneboard.yaml"
    cfg_file.write_text(CONFIG)
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp_path)
    sup.GATEWAY_USAGE_POLL_S = 0.02
    sub = sup.hub.subscribe()
    got: list[LaneUsageUpdated] = []

    async def collect() -> None:
        async for ev in sub:
            if isinstance(ev, LaneUsageUpdated):
                got.append(ev)

    path = usage_file(state_dir(), sup.socket)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    counters = Counters(path)
    counters.add_usage("review", Usage(input_tokens=1200, output_tokens=340, seen=True),
                       {"input": 5.0, "output": 25.0})
    counters.add_usage("direct", Usage(input_tokens=9, output_tokens=9, seen=True), None)
    counters.save()

    follower = asyncio.create_task(sup._follow_gateway_usage())
    reader = asyncio.create_task(collect())
    try:
        rt = sup.lanes["review"]
        await async_wait_until(lambda: rt.usage.input_tokens == 1200, timeout=10)
        assert rt.usage.output_tokens == 340
        assert rt.usage.cost_usd == pytest.approx((1200 * 5.0 + 340 * 25.0) / 1e6)
        await async_wait_until(lambda: any(e.lane == "review" for e in got), timeout=10)
        # a gateway: false lane never takes numbers from the gateway
        assert sup.lanes["direct"].usage.input_tokens == 0
        assert all(e.lane != "direct" for e in got)
        # what the lane table shows
        cell = usage_text(LaneInfo.from_runtime(rt, cfg=sup.cfg))
        assert "1.5k" in cell and "$0.01" in cell, cell

        # a later turn (typed in the pane): the file changes, the table follows
        counters.add_usage("review", Usage(input_tokens=800, output_tokens=60, seen=True),
                           {"input": 5.0, "output": 25.0})
        counters.save()
        await async_wait_until(lambda: rt.usage.input_tokens == 2000, timeout=10)
        assert rt.usage.output_tokens == 400
    finally:
        follower.cancel()
        sub.close()
        await asyncio.gather(follower, reader, return_exceptions=True)
