"""Per-tool routing for real (issue #14, item 5; the seed request).

The e2e test runs the REAL Claude Code 2.1.328 → the gateway (in-process) → two
Anthropic stand-ins: the lane's own model on one, the `writer` lane's models on the
other. The config routes `Write` to the `writer` lane; the route is compiled by the lanes
layer exactly as the supervisor registers a lane. What is checked: the primary's `Write`
call is replaced by the routed model's (asked with the same protocol, the tool choice
forced to `Write`, not streamed), the routed model's own fallback chain applies (its
first model answers 429, its fallback answers), the reasoning turns stay on the primary,
and the file on disk carries the routed model's answer. The other tests check how routes
are compiled (map and list forms, exact and glob names, per-lane `tools:` over the
defaults) and that `config check` refuses a route whose model cannot speak its protocol,
naming file:line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.config import load_config
from laneboard.lanes.gateway_route import gateway_spec
from laneboard.lanes.refs import lane_chain
from laneboard.lanes.specs import build_spec
from laneboard.lanes.tool_routes import gateway_tools
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import RunningGateway
from tests.test_gateway_e2e import _claude_spec, _workdir

ROUTED_KEY = "sk-ant-routed-provider-key-0123456789"

CONFIG = """\
version: 1
providers:
  primary: {{harness: claude-code, base_url: "{primary}", api_key_env: LB_TEST_ANTHROPIC_KEY}}
  routed: {{harness: claude-code, base_url: "{routed}", api_key_env: LB_TEST_ANTHROPIC_KEY}}
models:
  primary/claude-standin-1: {{alias: lead, tier: orchestrator}}
  routed/routed-standin-1: {{alias: w1, tier: orchestrator}}
  routed/routed-standin-2: {{alias: w2, tier: orchestrator}}
lanes:
  coder: {{role: coder, harness: claude-code, mode: exec, model: lead, fallbacks: [], fence: workspace-write}}
  writer: {{role: coder, harness: claude-code, mode: exec, model: w1, fallbacks: [w2], fence: workspace-write}}
routing:
  default: coder
  tools: {{Write: writer}}
"""


@pytest.mark.slow
async def test_routed_model_answers_the_write_call_and_the_file_carries_it(
    gateway: RunningGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    target = workdir / "out.txt"
    with StandinServer() as primary, StandinServer() as routed:
        config = tmp_path / "laneboard.yaml"
        config.write_text(CONFIG.format(primary=primary.url, routed=routed.url))
        cfg = load_config(config).config
        lead = lane_chain(cfg, "coder")[0]
        registered = gateway_spec(cfg, build_spec(cfg, "coder", lead, [], workdir),
                                  gateway.info, lead, [], strict=False)
        assert registered.base_url is not None
        primary.script(
            Reply.tool_call("Write", {"file_path": str(target),
                                      "content": "written by the primary\n"}),
            Reply.text("Done."),
        )
        routed.script(
            Reply.error(429, "routed model busy", retry_after=1),
            Reply.tool_call("Write", {"file_path": str(target),
                                      "content": "written by the routed model\n"},
                            call_id="routed"),
        )
        spec = _claude_spec(registered.base_url, workdir, tmp_path)
        # `routed` is another provider: the gateway (in this process) reads its key from
        # its own environment, never from the lane's headers
        monkeypatch.setenv("LB_TEST_ANTHROPIC_KEY", ROUTED_KEY)
        # the person allows Write (laneboard never approves a prompt itself)
        (tmp_path / "claude-config" / "settings.json").write_text(
            json.dumps({"permissions": {"allow": ["Write"]}}))
        h = ClaudeCodeHarness(spec, state_dir=tmp_path / "state")
        result = await h.send("write out.txt", timeout=120)

        assert target.read_text() == "written by the routed model\n", result
        asked = routed.calls("anthropic")
        assert [r.model for r in asked] == ["routed-standin-1", "routed-standin-2"]
        for r in asked:
            assert r.headers.get("x-api-key") == ROUTED_KEY
            assert r.body["tool_choice"] == {"type": "tool", "name": "Write"}
            assert r.body["stream"] is False
            assert "thinking" not in r.body  # a forced tool choice excludes thinking
            assert any(t.get("name") == "Write" for t in r.body["tools"])
        # the reasoning turns stayed on the primary: it was asked before and after
        turns = primary.calls("anthropic")
        assert len(turns) >= 2 and all("tool_choice" not in (r.body or {})
                                       or r.body["tool_choice"].get("type") != "tool"
                                       for r in turns)
        assert result.reply.strip().endswith("Done.")


def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "laneboard.yaml"
    path.write_text(text)
    return path


COMPILE = """\
version: 1
providers:
  anthropic: {harness: claude-code, api_key_env: LB_TEST_ANTHROPIC_KEY}
  other: {harness: claude-code, base_url: "http://127.0.0.1:9/v1", api_key_env: LB_TEST_ANTHROPIC_KEY}
  openai-codex: {harness: codex, api_key_env: LB_TEST_OPENAI_KEY}
models:
  anthropic/claude-opus-4-5: {alias: opus, tier: escalation}
  other/claude-writer: {alias: cw, tier: orchestrator, cost: {input: 1.0, output: 2.0}}
  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}
lanes:
  lead: {role: coder, harness: claude-code, model: opus, fallbacks: [], fence: workspace-write}
  writer: {role: coder, harness: claude-code, model: cw, fence: workspace-write, tools: [Edit]}
  codexer: {role: coder, harness: codex, model: gpt55, fence: workspace-write}
routing:
  default: lead
  tools:
    - {tools: [Write, "mcp__fs__*"], lane: writer}
    - {tools: [Edit, NotebookEdit], lane: codexer}
"""


def test_routes_compile_map_list_glob_and_per_lane_over_defaults(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path, COMPILE)).config
    lead = gateway_tools(cfg, "lead")
    by = {r["patterns"][0]: r for r in lead}
    # per-lane `tools: [Edit]` (writer) wins over the default's Edit → codexer
    assert by["Edit"]["lane"] == "writer"
    assert by["Write"]["lane"] == "writer" and by["mcp__fs__*"]["lane"] == "writer"
    # NotebookEdit → codexer speaks Responses, not lead's Anthropic: not applied to lead
    assert "NotebookEdit" not in by
    # per-lane entries come first (tried first)
    assert lead[0]["patterns"] == ["Edit"]
    cand = by["Write"]["candidates"]
    assert cand == [{"base_url": "http://127.0.0.1:9/v1", "model": "claude-writer",
                     "profile": "other", "cost": {"input": 1.0, "output": 2.0},
                     "provider": "other", "key_env": "LB_TEST_ANTHROPIC_KEY",
                     "keyless": False}]
    # the lane's own provider: its client's headers are that provider's credential
    assert by["Write"]["home"] == "anthropic"
    # a route never applies to its own target lane
    assert all(r["lane"] != "writer" for r in gateway_tools(cfg, "writer"))
    # the codex lane gets the route to its own protocol's lane only... none here but itself
    assert gateway_tools(cfg, "codexer") == []

    from laneboard.gateway.registry import Candidate, ToolRoute
    from laneboard.gateway.tool_routing import route_for

    routes = [ToolRoute(tuple(r["patterns"]), r["lane"], (Candidate("http://x"),)) for r in lead]
    hit = route_for(routes, "mcp__fs__write_file")
    assert hit is not None and hit.lane == "writer"  # glob
    hit = route_for(routes, "write")
    assert hit is not None and hit.lane == "writer"  # case-insensitive exact
    assert route_for(routes, "Read") is None


REFUSED = """\
version: 1
providers:
  anthropic: {harness: claude-code, api_key_env: LB_TEST_ANTHROPIC_KEY}
  openai-codex: {harness: codex, api_key_env: LB_TEST_OPENAI_KEY}
models:
  anthropic/claude-opus-4-5: {alias: opus, tier: escalation}
  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}
lanes:
  lead: {role: coder, harness: claude-code, model: opus, fallbacks: [], fence: workspace-write}
  mixed: {role: coder, harness: claude-code, model: opus, fallbacks: [gpt55], fence: workspace-write}
routing:
  default: lead
  tools:
    Write: mixed
"""


def test_config_check_refuses_a_route_whose_model_cannot_speak_the_protocol(
    tmp_path: Path,
) -> None:
    path = _cfg(tmp_path, REFUSED)
    done = subprocess.run(
        [sys.executable, "-m", "laneboard", "config", "check", str(path), "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    problems = json.loads(done.stdout)["problems"]
    assert len(problems) == 1, problems
    p = problems[0]
    assert p["file"].endswith("laneboard.yaml")
    assert p["line"] == REFUSED.splitlines().index("    Write: mixed") + 1
    assert "Write" in p["message"] and "gpt-5.5" in p["message"]
    assert "anthropic" in p["message"]

    plain = subprocess.run(
        [sys.executable, "-m", "laneboard", "config", "check", str(path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert plain.returncode == 2
    assert f"{path}:{p['line']}:" in plain.stderr and "Traceback" not in plain.stderr
