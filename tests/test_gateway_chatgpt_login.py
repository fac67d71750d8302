"""A Codex lane on its ChatGPT login stays direct, and preflight says what it does not get.

The lead's decision (issue #14): a codex lane whose provider names no `base_url` and no
`api_key_env` authenticates with the ChatGPT tokens in its own CODEX_HOME; the gateway's
`-c model_providers…` override cannot carry that login, so such a lane is never routed
through the gateway, and `policy.gateway` says which guarantees it goes without. A codex
lane with an API key (or its own endpoint) still goes through the gateway.

Real parts: configs parsed by the real loader, `build_spec` / `gateway_spec` as the
supervisor calls them, against a real gateway route file, and `laneboard preflight` run as
a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from laneboard.config import load_config
from laneboard.gateway.client import GatewayInfo
from laneboard.lanes.gateway_route import chatgpt_login, gateway_spec, uses_gateway
from laneboard.lanes.refs import lane_chain
from laneboard.lanes.specs import build_spec

CONFIG = """\
version: 1
providers:
  openai-codex: {harness: codex}
  keyed: {harness: codex, api_key_env: LB_TEST_OPENAI_KEY}
  anthropic: {harness: claude-code, api_key_env: LB_TEST_ANTHROPIC_KEY}
models:
  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}
  keyed/gpt-5.5: {alias: keyed55, tier: orchestrator}
  anthropic/claude-opus-4-5: {alias: opus, tier: escalation}
lanes:
  main: {role: orchestrator, harness: codex, model: gpt55, fence: workspace-write}
  coder: {role: coder, harness: codex, model: keyed55, fence: workspace-write}
  pinned: {role: coder, harness: codex, model: keyed55, provider: openai-codex, fence: workspace-write}
  review: {role: reviewer, harness: claude-code, model: opus, fallbacks: [], fence: plan}
routing: {default: main}
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "laneboard.yaml"
    path.write_text(CONFIG)
    return path


def test_chatgpt_login_codex_is_not_routed_through_the_gateway(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path)).config
    assert chatgpt_login(cfg, "main") and not uses_gateway(cfg, "main")
    # the lane's own `provider:` wins over its model's: a keyless provider is a login too
    assert chatgpt_login(cfg, "pinned") and not uses_gateway(cfg, "pinned")
    assert not chatgpt_login(cfg, "coder") and uses_gateway(cfg, "coder")
    assert not chatgpt_login(cfg, "review") and uses_gateway(cfg, "review")


def test_gateway_spec_leaves_a_chatgpt_login_spec_alone(tmp_path: Path) -> None:
    """Even when asked (a `/model` switch onto the keyless provider), `gateway_spec`
    returns the spec as it was and registers no route; a keyed codex lane is routed."""
    cfg = load_config(_config(tmp_path)).config
    folder = tmp_path / "gw"
    folder.mkdir(mode=0o700)
    info = GatewayInfo(url="http://127.0.0.1:9", port=9, pid=0, folder=folder)
    ws = tmp_path / "ws"
    ws.mkdir()

    main = lane_chain(cfg, "main")[0]
    spec = build_spec(cfg, "main", main, [], ws)
    assert gateway_spec(cfg, spec, info, main, [], strict=False) is spec
    assert not (folder / "routes.json").exists()

    keyed = lane_chain(cfg, "coder")[0]
    kspec = build_spec(cfg, "coder", keyed, [], ws)
    routed = gateway_spec(cfg, kspec, info, keyed, [], strict=False)
    assert routed.base_url is not None and routed.base_url.startswith("http://127.0.0.1:9/l/")
    assert routed.api_key_env == "LB_TEST_OPENAI_KEY"
    routes = json.loads((folder / "routes.json").read_text())["lanes"]
    assert [r["lane"] for r in routes] == ["coder"]


def test_preflight_says_the_chatgpt_login_lane_stays_direct(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "laneboard", "preflight", "--json", "--offline",
         "--config", str(_config(tmp_path))],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    checks = json.loads(done.stdout)["checks"]
    said = {c["subject"]: c for c in checks if c["id"] == "policy.gateway"}
    assert set(said) == {"lane main", "lane pinned"}, said
    # ok, not warn: the shipped config's ChatGPT-login Codex passes `preflight --check`
    assert done.returncode == 0, done.stdout + done.stderr
    for check in said.values():
        assert check["status"] == "ok"
        assert "stays direct" in check["message"] and "ChatGPT" in check["message"]
        # which guarantees it does not get, named
        assert "not redacted on the wire" in check["message"]
        assert "turn" in check["message"]
        assert "api_key_env" in check["fix"]
