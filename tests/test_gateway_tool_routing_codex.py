"""Per-tool routing for a REAL `codex exec` lane (issue #14, item 5, OpenAI Responses).

Codex 0.169.0 → the gateway (in-process) → two Responses stand-ins: the lane's own model
and the `writer` lane's model, on ANOTHER provider with its own key. The route is
compiled by the lanes layer from a config, as the supervisor registers a lane. Two tool
shapes Codex uses: the function tool `exec_command` (what `-m gpt-5.5` is given) and the
freeform JavaScript tool `exec` (the default model's). What is checked: the routed
stand-in was asked once, not streamed, with `tool_choice` forcing that tool (`function`
or `custom`), carrying the writer provider's key from the gateway's environment and never
the lane's; the command Codex actually ran is the routed model's (its file exists, the
primary's does not); the reasoning turns stayed on the primary, whose next request
carries the tool output under the primary's call id.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from laneboard.config import load_config
from laneboard.lanes.gateway_route import gateway_spec
from laneboard.lanes.refs import lane_chain
from laneboard.lanes.specs import build_spec
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import RunningGateway
from tests.test_gateway_e2e import _codex_spec, _workdir

LANE_KEY = "sk-standin"  # what _codex_spec gives the lane's codex
WRITER_KEY = "sk-writer-provider-key-0123456789abcdef"

CONFIG = """\
version: 1
providers:
  primary: {{harness: codex, base_url: "{primary}", api_key_env: LB_TEST_OPENAI_KEY}}
  writerco: {{harness: codex, base_url: "{routed}", api_key_env: LB_TEST_WRITER_KEY}}
models:
  primary/gpt-5.5: {{alias: lead, tier: orchestrator}}
  writerco/writer-coder-1: {{alias: w1, tier: orchestrator}}
lanes:
  coder: {{role: coder, harness: codex, mode: exec, model: lead, fallbacks: [], fence: workspace-write}}
  writer: {{role: coder, harness: codex, mode: exec, model: w1, fallbacks: [], fence: workspace-write}}
routing:
  default: coder
  tools: {{{tool}: writer}}
"""


def _js(cmd: str) -> str:
    return f'await tools.exec_command({{cmd: "{cmd}"}});'


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["function", "freeform"])
async def test_codex_routed_tool_call_runs_the_routed_models_command(
    gateway: RunningGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    from laneboard.harnesses.codex.harness import CodexHarness

    workdir = _workdir(tmp_path)
    function = shape == "function"
    tool = "exec_command" if function else "exec"

    def call(cmd: str, call_id: str) -> Reply:
        if function:
            return Reply.tool_call(tool, {"cmd": cmd}, call_id=call_id, function=True)
        return Reply.tool_call(tool, _js(cmd), call_id=call_id)

    with StandinServer() as primary, StandinServer() as routed:
        config = tmp_path / "laneboard.yaml"
        config.write_text(CONFIG.format(primary=primary.openai_base_url,
                                        routed=routed.openai_base_url, tool=tool))
        cfg = load_config(config).config
        lead = lane_chain(cfg, "coder")[0]
        registered = gateway_spec(cfg, build_spec(cfg, "coder", lead, [], workdir),
                                  gateway.info, lead, [], strict=False)
        assert registered.base_url is not None
        primary.script(call("touch primary.txt", "call_primary"), Reply.text("Done."),
                       dialect="responses")
        routed.script(call("touch routed.txt", "call_routed"), dialect="responses")
        # the writer's provider key lives in the gateway's environment (this process)
        monkeypatch.setenv("LB_TEST_WRITER_KEY", WRITER_KEY)
        over = {"model": "gpt-5.5"} if function else {}
        spec = _codex_spec(registered.base_url, workdir, tmp_path, **over)
        h = CodexHarness(spec, provider_options={"request_max_retries": 0,
                                                 "stream_max_retries": 0})
        result = await h.send("make the file", timeout=180)

        assert (workdir / "routed.txt").exists(), result
        assert not (workdir / "primary.txt").exists(), result
        asked = routed.calls("responses")
        assert len(asked) == 1, [r.body for r in asked]
        body = asked[0].body
        want = {"type": "function" if function else "custom", "name": tool}
        assert body["tool_choice"] == want
        assert body["stream"] is False and body["model"] == "writer-coder-1"
        assert asked[0].headers.get("authorization") == f"Bearer {WRITER_KEY}"
        assert LANE_KEY.encode() not in asked[0].raw
        assert not any(LANE_KEY in v for v in asked[0].headers.values())
        # the reasoning stayed on the primary: asked again with the tool's output under
        # the primary's own call id (the CLI's bookkeeping held)
        turns = primary.calls("responses")
        assert len(turns) == 2, [r.body for r in turns]
        assert turns[0].body["tool_choice"] == "auto"
        outputs = [i for i in turns[1].body["input"] if isinstance(i, dict)
                   and str(i.get("type", "")).endswith("call_output")]
        assert [o["call_id"] for o in outputs] == ["call_primary"], json.dumps(outputs)[:2000]
        assert result.reply.strip().endswith("Done."), result
        counts = json.loads((gateway.folder / "usage.json").read_text())["coder"]
        assert counts["routes_skipped"] == 0
