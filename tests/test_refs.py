"""Model refs: OpenClaw-style resolution cases, chains, cooldowns, config validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from laneboard.config import Config, LoadedConfig, parse_config
from laneboard.errors import ConfigError, ModelRefError
from laneboard.lanes.refs import (
    NOT_ALLOWED,
    Catalog,
    Cooldowns,
    RefProblem,
    check_model_refs,
    lane_chain,
    normalize_provider,
    parse_ref,
    require_model,
    resolve,
    resolve_ref,
    split_profile,
)

BASE = """\
version: 1
providers:
  openai-codex: {harness: codex}
  anthropic: {harness: claude-code}
  ollama: {harness: ollama}
  openrouter: {harness: openai}
  zai: {harness: openai}
  amazon-bedrock: {harness: openai}
models:
  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}
  openai-codex/gpt-5.5:cron: {alias: gpt55cron, id: gpt-5.5, tier: orchestrator}
  openai-codex/gpt-5.3-codex: {tier: orchestrator}
  anthropic/claude-opus-4-5: {alias: Opus, tier: escalation}
  ollama/qwen3:7b: {alias: triage, tier: local}
  ollama/qwen3-embedding:8b: {alias: embed, tier: local, kind: embedding}
  openrouter/moonshotai/kimi-k2: {alias: kimi, tier: cheap}
  zai/glm-4.6: {tier: cheap}
  amazon-bedrock/anthropic.claude-sonnet: {tier: orchestrator}
  ollama/Llama3: {tier: local}
  ollama/Mixed:A: {tier: local}
  ollama/mixed:a: {tier: local}
  ollama/shared: {tier: local}
  openrouter/shared: {tier: cheap}
defaults:
  provider: openai-codex
  model: {primary: gpt55, fallbacks: [openai-codex/gpt-5.3-codex]}
"""

LANES = """\
lanes:
  main: {role: orchestrator, harness: codex}
  coder: {role: coder, harness: codex, model: openai-codex/gpt-5.3-codex, fallbacks: [gpt55, GPT55, openai-codex/gpt-5.3-codex]}
  own: {role: coder, harness: codex, model: gpt55cron}
  helper: {role: helper, harness: ollama, model: triage, fallbacks: []}
  shell: {role: helper, harness: command, command: [sh]}
"""


def load(text: str, file: str = "config.yaml") -> LoadedConfig:
    return parse_config(text.encode(), file)


@pytest.fixture(scope="module")
def cfg() -> Config:
    return load(BASE + LANES).config


# (input, provider, model, key, via, allowed, error substring)
# fmt: off
CASES: list[tuple[str, str | None, str | None, str | None, str | None, bool, str | None]] = [
    # exact refs, first-slash split, trimming
    ("openai-codex/gpt-5.5", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "exact", True, None),
    ("  openai-codex/gpt-5.5  ", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "exact", True, None),
    ("openai-codex / gpt-5.5", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "exact", True, None),
    ("OpenAI-Codex/gpt-5.5", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "exact", True, None),
    ("openrouter/moonshotai/kimi-k2", "openrouter", "moonshotai/kimi-k2",
     "openrouter/moonshotai/kimi-k2", "exact", True, None),
    ("ollama/qwen3:7b", "ollama", "qwen3:7b", "ollama/qwen3:7b", "exact", True, None),
    ("openai-codex/gpt-5.5:cron", "openai-codex", "gpt-5.5:cron", "openai-codex/gpt-5.5:cron",
     "exact", True, None),
    ("anthropic/claude-opus-4-5", "anthropic", "claude-opus-4-5", "anthropic/claude-opus-4-5",
     "exact", True, None),
    # aliases first, case-insensitive, with an auth profile
    ("gpt55", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "alias", True, None),
    ("GPT55", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "alias", True, None),
    ("opus", "anthropic", "claude-opus-4-5", "anthropic/claude-opus-4-5", "alias", True, None),
    ("kimi", "openrouter", "moonshotai/kimi-k2", "openrouter/moonshotai/kimi-k2", "alias", True, None),
    ("embed", "ollama", "qwen3-embedding:8b", "ollama/qwen3-embedding:8b", "alias", True, None),
    ("gpt55@work", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "alias", True, None),
    ("openai-codex/gpt-5.5@work", "openai-codex", "gpt-5.5", "openai-codex/gpt-5.5", "exact", True, None),
    # a dated suffix is a version, not a profile
    ("anthropic/claude-opus-4-5@20251001", "anthropic", "claude-opus-4-5@20251001",
     "anthropic/claude-opus-4-5@20251001", "exact", False, NOT_ALLOWED),
    # bare ids: unique configured provider, then the default provider
    ("qwen3:7b", "ollama", "qwen3:7b", "ollama/qwen3:7b", "unique-provider", True, None),
    ("gpt-5.3-codex", "openai-codex", "gpt-5.3-codex", "openai-codex/gpt-5.3-codex",
     "unique-provider", True, None),
    ("shared", "openai-codex", "shared", "openai-codex/shared", "default-provider", False, NOT_ALLOWED),
    ("gpt-4o", "openai-codex", "gpt-4o", "openai-codex/gpt-4o", "default-provider", False, NOT_ALLOWED),
    # provider aliases, normalised as OpenClaw does
    ("z.ai/glm-4.6", "zai", "glm-4.6", "zai/glm-4.6", "exact", True, None),
    ("z-ai/glm-4.6", "zai", "glm-4.6", "zai/glm-4.6", "exact", True, None),
    ("Z.AI/glm-4.6", "zai", "glm-4.6", "zai/glm-4.6", "exact", True, None),
    ("bedrock/anthropic.claude-sonnet", "amazon-bedrock", "anthropic.claude-sonnet",
     "amazon-bedrock/anthropic.claude-sonnet", "exact", True, None),
    ("aws-bedrock/anthropic.claude-sonnet", "amazon-bedrock", "anthropic.claude-sonnet",
     "amazon-bedrock/anthropic.claude-sonnet", "exact", True, None),
    ("doubao/seed", "volcengine", "seed", "volcengine/seed", "exact", False, NOT_ALLOWED),
    # model ids keep their case; a folded match only when it is the only one
    ("ollama/llama3", "ollama", "Llama3", "ollama/Llama3", "case-insensitive", True, None),
    ("ollama/mixed:a", "ollama", "mixed:a", "ollama/mixed:a", "exact", True, None),
    ("ollama/MIXED:A", "ollama", "MIXED:A", "ollama/MIXED:A", "exact", False, NOT_ALLOWED),
    # invalid refs
    ("", None, None, None, None, False, "empty"),
    ("   ", None, None, None, None, False, "empty"),
    ("/gpt-5.5", None, None, None, None, False, "both halves"),
    ("openai-codex/", None, None, None, None, False, "both halves"),
    (" / ", None, None, None, None, False, "both halves"),
    # allowlist rejection names the ref
    ("ollama/llama3.3", "ollama", "llama3.3", "ollama/llama3.3", "exact", False,
     "Model is not allowed: ollama/llama3.3"),
    ("openrouter/kimi", "openrouter", "kimi", "openrouter/kimi", "exact", False, NOT_ALLOWED),
]
# fmt: on


@pytest.mark.parametrize(("raw", "provider", "model", "key", "via", "allowed", "error"), CASES)
def test_resolution_table(
    cfg: Config,
    raw: str,
    provider: str | None,
    model: str | None,
    key: str | None,
    via: str | None,
    allowed: bool,
    error: str | None,
) -> None:
    res = resolve_ref(cfg, raw)
    assert (res.provider, res.model, res.key, res.via, res.allowed) == (
        provider,
        model,
        key,
        via,
        allowed,
    )
    if error is None:
        assert res.error is None
    else:
        assert res.error is not None and error in res.error


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 30


def test_json_shape(cfg: Config) -> None:
    doc = resolve_ref(cfg, "GPT55").to_json()
    assert doc == {
        "input": "GPT55",
        "provider": "openai-codex",
        "model": "gpt-5.5",
        "key": "openai-codex/gpt-5.5",
        "via": "alias",
        "alias": "gpt55",
        "allowed": True,
        "error": None,
    }
    bad = resolve_ref(cfg, "x/").to_json()
    assert set(bad) == set(doc) and bad["allowed"] is False and bad["provider"] is None


def test_bare_id_without_default_provider_does_not_resolve() -> None:
    text = (
        BASE.replace("  provider: openai-codex\n", "")
        + "lanes: {main: {role: orchestrator, harness: codex}}\n"
    )
    res = resolve_ref(load(text).config, "gpt-4o")
    assert res.error_kind == "unresolved" and "no provider" in (res.error or "")
    assert res.allowed is False


def test_profile_and_provider_helpers() -> None:
    assert split_profile("a/b@work") == ("a/b", "work")
    assert split_profile("a/b@v1.2") == ("a/b@v1.2", None)
    assert split_profile("a@b/c") == ("a@b/c", None)  # the @ is before the last slash
    assert normalize_provider("  AWS-Bedrock ") == "amazon-bedrock"
    assert parse_ref("x/y@p").profile == "p"
    with pytest.raises(ModelRefError):
        parse_ref("/")


def test_resolved_model_carries_everything(cfg: Config) -> None:
    m = require_model(cfg, "gpt55cron@work")
    assert (m.provider, m.model, m.provider_id, m.key) == (
        "openai-codex",
        "gpt-5.5:cron",
        "gpt-5.5",
        "openai-codex/gpt-5.5:cron",
    )
    assert (m.tier, m.kind, m.alias, m.via, m.profile) == (
        "orchestrator",
        "chat",
        "gpt55cron",
        "alias",
        "work",
    )
    assert m.params.thinking is None and m.context_window is None
    with pytest.raises(ModelRefError, match="Model is not allowed: ollama/nope"):
        require_model(cfg, "ollama/nope")


# ---------------------------------------------------------------- chains


def test_lane_chains(cfg: Config) -> None:
    keys = lambda lane, **kw: [m.key for m in lane_chain(cfg, lane, **kw)]  # noqa: E731
    # no model: the defaults with their fallbacks
    assert keys("main") == ["openai-codex/gpt-5.5", "openai-codex/gpt-5.3-codex"]
    # duplicates dropped, order kept
    assert keys("coder") == ["openai-codex/gpt-5.3-codex", "openai-codex/gpt-5.5"]
    # its own model and no fallbacks listed: none inherited
    assert keys("own") == ["openai-codex/gpt-5.5:cron"]
    assert keys("helper") == ["ollama/qwen3:7b"]
    assert keys("shell") == []
    # strict: primary only; explicit: the picked model alone
    assert keys("main", strict=True) == ["openai-codex/gpt-5.5"]
    assert keys("main", explicit="opus") == ["anthropic/claude-opus-4-5"]


def test_lane_chain_errors(cfg: Config) -> None:
    with pytest.raises(ModelRefError, match="no lane"):
        lane_chain(cfg, "ghost")
    with pytest.raises(ModelRefError, match=NOT_ALLOWED):
        lane_chain(cfg, "main", explicit="ollama/llama9")


# ---------------------------------------------------------------- cooldowns


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_steps_and_cap(cfg: Config) -> None:
    clock = FakeClock()
    cd = Cooldowns(clock)
    assert [cd.fail("k") for _ in range(5)] == [30.0, 60.0, 300.0, 300.0, 300.0]
    assert cd.cooling("k") and cd.remaining("k") == 300.0
    clock.now += 299.0
    assert cd.cooling("k")
    clock.now += 1.0
    assert not cd.cooling("k")
    cd.succeed("k")
    assert cd.fail("k") == 30.0


def test_cooldown_pick_skips_cooling_models(cfg: Config) -> None:
    clock = FakeClock()
    cd = Cooldowns(clock)
    chain = lane_chain(cfg, "main")
    assert cd.pick(chain) == chain[0]
    cd.fail(chain[0].key)
    assert cd.pick(chain) == chain[1]
    cd.fail(chain[1].key)
    assert cd.pick(chain) is None
    clock.now += 30.0
    assert [m.key for m in cd.available(chain)] == [c.key for c in chain]
    # strict chains have nothing to fall back to
    strict = lane_chain(cfg, "main", strict=True)
    cd.fail(strict[0].key)
    assert cd.pick(strict) is None


# ---------------------------------------------------------------- config validation


def test_shipped_config_refs_are_valid(repo_root: Path) -> None:
    loaded = parse_config((repo_root / "config.yaml").read_bytes(), "config.yaml")
    assert check_model_refs(loaded) == []


def test_unresolved_lane_model_has_file_and_line() -> None:
    text = BASE + "lanes:\n  main: {role: orchestrator, harness: codex, model: gpt56}\n"
    problems = check_model_refs(load(text, "cfg.yaml"))
    assert len(problems) == 1
    p = problems[0]
    assert isinstance(p, RefProblem) and p.check == "models.allowed"
    assert p.path == "lanes.main.model"
    assert p.location.file == "cfg.yaml" and p.location.line == text.count("\n")
    assert "Model is not allowed: openai-codex/gpt56" in p.render()
    assert "gpt55" in p.hint  # did you mean


def test_every_site_is_checked() -> None:
    text = (
        BASE.replace("primary: gpt55", "primary: /bad")
        + "lanes:\n"
        + "  main: {role: orchestrator, harness: codex, model: gpt55, fallbacks: [nope/x]}\n"
        + "  emb: {role: helper, harness: ollama, model: embed}\n"
        + "artifacts: {embed_model: triage}\n"
    )
    problems = check_model_refs(load(text))
    paths = {p.path: p for p in problems}
    assert set(paths) == {
        "defaults.model.primary",
        "lanes.main.fallbacks[0]",
        "lanes.emb.model",
        "artifacts.embed_model",
    }
    assert paths["defaults.model.primary"].check == "models.resolve"  # type: ignore[attr-defined]
    assert "embedding model" in paths["lanes.emb.model"].message
    assert "chat model" in paths["artifacts.embed_model"].message
    assert all(p.location.line for p in problems)


def test_load_file_fails_with_file_line(tmp_path: Path) -> None:
    from laneboard.lanes.loading import load_file

    f = tmp_path / "bad.yaml"
    f.write_text(
        BASE + "lanes:\n  main: {role: orchestrator, harness: codex, model: ollama/llama9}\n"
    )
    with pytest.raises(ConfigError) as e:
        load_file(str(f))
    assert f"{f}:{(BASE.count(chr(10)) + 2)}:" in str(e.value)
    assert "Model is not allowed: ollama/llama9" in str(e.value)


def test_catalog_allow_any_and_explicit_keys() -> None:
    from laneboard.lanes.refs import CatalogEntry

    entries = [CatalogEntry("anthropic/x", "anthropic", "x", "ex")]
    anything = Catalog.build(entries, "anthropic", allow_any=True)
    assert resolve(anything, "openai/whatever").allowed
    listed = Catalog.build(entries, "anthropic", allowed_keys=["openai/y"])
    assert resolve(listed, "openai/y").allowed
    assert not resolve(listed, "ex").allowed  # in the catalogue, not in the allowlist
