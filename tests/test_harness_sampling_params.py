"""A model's `params.temperature` / `params.max_output_tokens` reach the endpoint.

They were validated in config but never sent: these tests go from a config file through
`build_spec` to the real harness and read the request body the stand-in received, in each
endpoint's own words (Ollama `options.temperature` / `options.num_predict`, Chat
Completions `temperature` / `max_tokens`), and check that nothing is sent when unset.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from laneboard.config import parse_config
from laneboard.harnesses.base import HarnessSpec
from laneboard.harnesses.ollama import OllamaHarness
from laneboard.harnesses.openai_http import OpenAIHttpHarness
from laneboard.lanes.specs import build_spec, lane_candidates
from laneboard.standins import CHAT, OLLAMA, Reply, StandinServer

DEADLINE = 10.0


def specs(standin: StandinServer, tmp_path: Path) -> dict[str, HarnessSpec]:
    raw = f"""
version: 1
providers:
  ollama: {{harness: ollama, base_url: "{standin.url}"}}
  local: {{harness: openai, base_url: "{standin.openai_base_url}"}}
models:
  ollama/qwen3:7b: {{tier: local, params: {{temperature: 0.25, max_output_tokens: 77}}}}
  ollama/gemma4:latest: {{tier: local}}
  local/m1: {{tier: local, params: {{temperature: 1.5, max_output_tokens: 9}}}}
  local/m2: {{tier: local}}
lanes:
  tuned-ollama: {{role: helper, harness: ollama, model: ollama/qwen3:7b}}
  plain-ollama: {{role: helper, harness: ollama, model: ollama/gemma4:latest}}
  tuned-openai: {{role: helper, harness: openai, model: local/m1}}
  plain-openai: {{role: helper, harness: openai, model: local/m2}}
"""
    cfg = parse_config(raw.encode(), str(tmp_path / "config.yaml")).config
    out = {}
    for lane in cfg.lanes:
        chain = lane_candidates(cfg, lane)
        out[lane] = build_spec(cfg, lane, chain[0], chain[1:], tmp_path)
    return out


async def test_ollama_gets_options_temperature_and_num_predict(
    standin: StandinServer, tmp_path: Path
) -> None:
    lanes = specs(standin, tmp_path)
    tuned, plain = OllamaHarness(lanes["tuned-ollama"]), OllamaHarness(lanes["plain-ollama"])
    standin.script(Reply.text("a"), Reply.text("b"), Reply.text("c"), Reply.text("d"))
    try:
        async with asyncio.timeout(DEADLINE):
            await tuned.send("hello")
            await tuned.generate("classify this")
            await tuned.generate("other model", model="gemma4:latest")
            await plain.send("hello")
    finally:
        await tuned.stop()
        await plain.stop()
    chat, gen, other, untuned = standin.calls(OLLAMA)
    assert chat.path == "/api/chat" and gen.path == "/api/generate"
    assert chat.body["options"] == {"temperature": 0.25, "num_predict": 77}
    assert gen.body["options"] == {"temperature": 0.25, "num_predict": 77}
    # a one-off on another model keeps that model's defaults; an untuned model sends none
    assert "options" not in other.body and other.body["model"] == "gemma4:latest"
    assert "options" not in untuned.body


async def test_openai_gets_temperature_and_max_tokens(
    standin: StandinServer, tmp_path: Path
) -> None:
    lanes = specs(standin, tmp_path)
    tuned, plain = OpenAIHttpHarness(lanes["tuned-openai"]), OpenAIHttpHarness(lanes["plain-openai"])
    standin.script(Reply.text("a"), Reply.text("b"))
    try:
        async with asyncio.timeout(DEADLINE):
            await tuned.send("hello")
            await plain.send("hello")
    finally:
        await tuned.stop()
        await plain.stop()
    sent, untuned = standin.calls(CHAT)
    assert sent.body["model"] == "m1"
    assert (sent.body["temperature"], sent.body["max_tokens"]) == (1.5, 9)
    assert not {"temperature", "max_tokens", "max_completion_tokens"} & set(untuned.body)
