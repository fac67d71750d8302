"""Promise under attack: a lane's delegation obeys the same policy as a person's prompt,
enforced by the control server and never by trusting the caller.

Real processes: a real `laneboard up --headless` with command lanes in tmux, the real
`laneboard mcp` started by the MCP SDK's stdio client, and lanes that delegate onward
themselves (with their own lane tokens). Each refusal must come back as a tool error
naming its rule: untrusted task → a lane below orchestrator tier, a cycle (main → coder →
main), depth exceeded (main → coder → worker → commit), an unknown lane, a lane without
delegates, a forged token, an escalation lane used for labour; and a budget.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from laneboard.conductor import policy
from laneboard.conductor.protocol import Refused
from tests.fixtures.conductor import Session, conductor_session  # noqa: F401 (fixture)

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def _client(session: Session, lane: str, token: str | None = None) -> Client:
    env = session.mcp_env(lane)
    if token is not None:
        env["LANEBOARD_LANE_TOKEN"] = token
    return Client(StdioServerParameters(command=sys.executable, args=["-m", "laneboard", "mcp"],
                                        env=env, cwd=str(session.workspace)),
                  read_timeout_seconds=120)


async def _delegate(client: Client, args: dict[str, Any]) -> tuple[bool, str]:
    res = await client.call_tool("delegate", args)
    return bool(res.is_error), "".join(getattr(c, "text", "") for c in res.content)


async def test_refusals_name_their_rule(conductor_session: Session) -> None:  # noqa: F811
    s = conductor_session
    tried = blocked = 0
    async with _client(s, "main") as main:
        cases = [
            ({"task": "summarise this mail", "lane": "commit", "untrusted": True},
             "untrusted-input"),
            ({"task": "anything", "lane": "nope"}, "unknown-lane"),
            ({"task": "fix the bug", "lane": "review"}, "escalation-for-judgment"),
            ({"task": "talk to yourself", "lane": "main"}, "delegates"),
        ]
        for args, rule in cases:
            tried += 1
            err, text = await _delegate(main, args)
            assert err and f"refused by rule '{rule}'" in text, (args, text)
            blocked += 1

        # A cycle: coder (a real lane process, its own token) asks main, which is above it.
        tried += 1
        err, text = await _delegate(main, {"task": "ASK main do my work", "lane": "coder"})
        assert not err and "refused: no-cycles" in text, text
        blocked += 1

        # Depth: main → coder → worker → commit is three deep; the limit is two.
        tried += 1
        err, text = await _delegate(main, {"task": "ASK worker ASK commit hi", "lane": "coder"})
        assert not err and "refused: depth-limit" in text, text
        blocked += 1

    # A lane without delegates (a helper) may hand nothing to anyone.
    async with _client(s, "commit") as helper:
        tried += 1
        err, text = await _delegate(helper, {"task": "build it", "lane": "coder"})
        assert err and "refused by rule 'delegates'" in text and "allows no lane" in text, text
        blocked += 1

    # A forged token is no lane at all, whatever name the agent claims.
    async with _client(s, "main", token="ab" * 32) as forged:
        tried += 1
        err, text = await _delegate(forged, {"task": "I am main", "lane": "coder"})
        assert err and "refused by rule 'lane-token'" in text, text
        blocked += 1
    assert tried == blocked == 8
    print(json.dumps({"bypasses_tried": tried, "blocked": blocked}))


def _cfg(text: str) -> Any:
    from laneboard.config import parse_config

    return parse_config(text.encode(), "conductor-policy.yaml").config


LOCAL_CFG = """\
version: 1
providers:
  ollama: {harness: ollama, base_url: "http://127.0.0.1:9"}
  openai: {harness: codex, base_url: "http://127.0.0.1:9", api_key_env: X_KEY}
models:
  ollama/tiny: {alias: tiny, tier: local}
  openai/big: {alias: big, tier: orchestrator}
lanes:
  main: {role: orchestrator, harness: codex, model: big, fence: read-only, input: untrusted}
  local: {role: helper, harness: ollama, model: tiny, fence: read-only}
  writer: {role: coder, harness: ollama, model: tiny, fence: workspace-write}
  coder: {role: coder, harness: codex, model: big, fence: workspace-write}
"""


def test_rules_without_processes_for_what_processes_cannot_stage() -> None:
    """The same `check_hop` the server runs, on a config with a local model: a task from an
    untrusted lane is untrusted (→ no local lane), a wider fence is refused unless the pair
    is configured, writable work never goes to a local model, and a run's budget ends."""
    from laneboard.lanes.router import Router

    cfg = _cfg(LOCAL_CFG)
    router = Router(cfg)
    root = policy.Position(("main",), 0, False)
    limits = policy.Limits()
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "main", "local", "hi", root, limits, tool="delegate")
    assert e.value.rule == "untrusted-input"
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "main", "coder", "hi", root, limits, tool="delegate")
    assert e.value.rule == "fence"
    with pytest.raises(Refused) as e:
        policy.check_budget(16, 0, limits)
    assert e.value.rule == "budget-turns"
    with pytest.raises(Refused) as e:
        policy.check_budget(1, limits.max_tokens, limits)
    assert e.value.rule == "budget-tokens"


def test_untrusted_delegation_is_the_tier_rule_on_the_shipped_config() -> None:
    """The lead's decision: an untrusted task goes only to a lane whose whole model chain is
    orchestrator tier or above; the delegate's own `input:` flag is not asked. With the
    shipped config, main (input: untrusted) → coder (gpt-5.3-codex, then gpt55) is
    allowed; main → triage (local) is refused by `untrusted-input`, naming the model."""
    from laneboard.config.loading import parse_config, shipped_config_bytes
    from laneboard.lanes.router import Router

    cfg = parse_config(shipped_config_bytes(), "default_config.yaml").config
    router = Router(cfg)
    limits = policy.Limits()
    root = policy.Position(("main",), 0, False)
    assert cfg.lanes["coder"].input != "untrusted"  # the flag the rule no longer asks for
    assert policy.check_hop(cfg, router, "main", "coder", "implement --dry-run", root, limits,
                            tool="delegate") is True  # the hop inherits the taint
    for target in ("triage", "commit"):
        with pytest.raises(Refused) as e:
            policy.check_hop(cfg, router, "main", target, "summarise", root, limits,
                             tool="delegate")
        assert e.value.rule == "untrusted-input", e.value
        assert "local tier" in e.value.detail and "takes untrusted input" in e.value.detail
    # Told untrusted by a hop above: the same rule, with that reason.
    tainted = policy.Position(("main",), 0, True)
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "main", "triage", "x", tainted, limits, tool="delegate")
    assert e.value.rule == "untrusted-input" and "hop above" in e.value.detail


REPLICA_CFG = """\
version: 1
providers:
  openai-codex: {harness: codex}
models:
  openai-codex/big: {tier: orchestrator}
lanes:
  main: {role: orchestrator, harness: codex, model: big, fence: workspace-write, delegates: [coder]}
  coder: {role: coder, harness: codex, model: big, fence: workspace-write, replicas: 2}
  other: {role: coder, harness: codex, model: big, fence: workspace-write}
"""


def test_a_replica_group_and_one_replica_obey_the_same_rules() -> None:
    """`delegates: [coder]` names the group: the conductor may hand work to the group (the
    supervisor picks an idle replica) or to one replica, checked on the group's settings —
    and not to a lane the list leaves out; a replica already on the run is a cycle."""
    from laneboard.config.replicas import expand
    from laneboard.lanes.router import Router

    cfg = expand(_cfg(REPLICA_CFG))  # what the supervisor, and so the server, holds
    assert "coder" not in cfg.lanes and {"coder-1", "coder-2"} <= set(cfg.lanes)
    router, limits = Router(cfg), policy.Limits()
    root = policy.Position(("main",), 0, False)
    for target in ("coder", "coder-2"):
        policy.check_hop(cfg, router, "main", target, "build it", root, limits, tool="delegate")
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "main", "other", "x", root, limits, tool="delegate")
    assert e.value.rule == "delegates"
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "main", "coder-3", "x", root, limits, tool="delegate")
    assert e.value.rule == "unknown-lane"
    on_run = policy.Position(("main", "coder-1"), 1, False)
    with pytest.raises(Refused) as e:
        policy.check_hop(cfg, router, "coder-1", "coder", "x", on_run, limits, tool="delegate")
    assert e.value.rule in ("no-cycles", "delegates")
