"""openclaw.json: JSON5 reading, effective chains as OpenClaw computes them, openclaw.* checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from laneboard.cli import cli
from laneboard.errors import ConfigError
from laneboard.lanes.preflight.openclaw import load_openclaw, parse_openclaw
from laneboard.lanes.preflight.openclaw_checks import acpx_checks, check_openclaw, memory_checks

SAMPLE = """\
// openclaw.json, JSON5: comments, unquoted keys, trailing commas
{
  models: {
    providers: {
      ollama: { baseUrl: "http://127.0.0.1:11434", models: [{ id: "qwen3:7b" }] },
    },
  },
  auth: { profiles: { "openai:default": { provider: "openai", mode: "oauth" } } },
  agents: {
    defaults: {
      model: {
        primary: "anthropic/claude-sonnet-4-5",
        fallbacks: ["openai/gpt-5.2", "sonnet"],
      },
      models: {
        "anthropic/claude-sonnet-4-5": { alias: "sonnet" },
        "anthropic/claude-opus-4-5": { alias: "Opus" },
        "openai/gpt-5.2": {},
        "Z.AI/glm-4.6": { alias: "glm" },
        "ollama/qwen3:7b": {},
      },
      memorySearch: { provider: "ollama", model: "nomic-embed-text" },
    },
    list: [
      { id: "main", default: true },                                  // inherits everything
      { id: "coder", model: "opus" },                                 // own primary: no ladder
      { id: "helper", model: { primary: "ollama/qwen3:7b", fallbacks: ["glm"] } },
      { id: "Ghost", model: "openai/gpt-9" },                         // not allowed
    ],
  },
}
"""


@pytest.fixture
def oc_file(tmp_path: Path) -> Path:
    p = tmp_path / "openclaw.json"
    p.write_text(SAMPLE)
    return p


def test_json5_and_effective_chains(oc_file: Path) -> None:
    oc = load_openclaw(oc_file)
    chains = {
        a.id: (a.primary, a.fallbacks, a.primary_source, a.fallbacks_source) for a in oc.agents
    }
    assert chains == {
        "main": (
            "anthropic/claude-sonnet-4-5",
            ("openai/gpt-5.2", "sonnet"),
            "defaults",
            "defaults",
        ),
        "coder": ("opus", (), "agent", "agent"),
        "helper": ("ollama/qwen3:7b", ("glm",), "agent", "agent"),
        "ghost": ("openai/gpt-9", (), "agent", "agent"),
    }
    assert oc.policy_source == "agents.defaults.models"
    assert {"ollama", "openai", "anthropic"} <= oc.providers


@pytest.mark.parametrize(
    ("raw", "key", "via", "allowed"),
    [
        ("sonnet", "anthropic/claude-sonnet-4-5", "alias", True),
        ("OPUS", "anthropic/claude-opus-4-5", "alias", True),
        ("glm", "Z.AI/glm-4.6", "alias", True),
        ("z-ai/glm-4.6", "Z.AI/glm-4.6", "exact", True),
        ("qwen3:7b", "ollama/qwen3:7b", "unique-provider", True),
        ("claude-haiku-4-5", "anthropic/claude-haiku-4-5", "default-provider", False),
        ("openai/gpt-9", "openai/gpt-9", "exact", False),
    ],
)
def test_openclaw_resolution(oc_file: Path, raw: str, key: str, via: str, allowed: bool) -> None:
    res = load_openclaw(oc_file).resolve(raw)
    assert (res.key, res.via, res.allowed) == (key, via, allowed)


def test_entries_roster_and_model_policy() -> None:
    oc = parse_openclaw("""{
      agents: {
        defaults: { model: "openai/gpt-5.5", modelPolicy: { allow: ["openai/gpt-5.5"] },
                    models: { "openai/gpt-5.2": { alias: "old" } } },
        entries: { emori: { model: { fallbacks: ["openai/gpt-5.2"] } }, leia: {} },
        list: [{ id: "ignored" }],
      },
    }""")
    assert [a.id for a in oc.agents] == ["emori", "leia"]
    emori, leia = oc.agents
    assert (emori.primary, emori.fallbacks, emori.primary_source) == (
        "openai/gpt-5.5",
        ("openai/gpt-5.2",),
        "defaults",
    )
    assert (leia.fallbacks, leia.fallbacks_source) == ((), "none")
    assert oc.policy_source == "agents.defaults.modelPolicy.allow"
    assert oc.resolve("openai/gpt-5.5").allowed
    assert not oc.resolve("old").allowed  # in models, but the policy is the allowlist
    fails = [c for c in check_openclaw(oc) if c.status == "fail"]
    assert [(c.id, c.subject) for c in fails] == [("openclaw.fallbacks", "agent emori")]


def test_no_roster_means_one_main_agent_and_empty_policy_is_unrestricted() -> None:
    oc = parse_openclaw('{agents: {defaults: {model: "x/y", modelPolicy: {allow: []}}}}')
    assert [(a.id, a.primary) for a in oc.agents] == [("main", "x/y")]
    assert oc.resolve("anything/at-all").allowed
    assert "unrestricted" in oc.policy_source


def test_bad_json5_is_a_config_error_with_line(tmp_path: Path) -> None:
    p = tmp_path / "openclaw.json"
    p.write_text("{\n  agents: {,}\n}")
    with pytest.raises(ConfigError) as e:
        load_openclaw(p)
    assert e.value.first.location.line == 2
    assert "JSON5" in str(e.value)
    with pytest.raises(ConfigError, match="no such file"):
        load_openclaw(tmp_path / "missing.json")


def test_agent_and_fallback_checks(oc_file: Path) -> None:
    checks = check_openclaw(load_openclaw(oc_file))
    by = {(c.id, c.subject): c for c in checks}
    assert by[("openclaw.agents", "agent main")].status == "ok"
    assert "→" in by[("openclaw.agents", "agent main")].message
    assert by[("openclaw.agents", "agent coder")].status == "ok"
    ghost = by[("openclaw.agents", "agent ghost")]
    assert ghost.status == "fail" and "not allowed" in ghost.message and ghost.fix
    # glm runs on zai, which nothing in the file configures
    helper = by[("openclaw.fallbacks", "agent helper")]
    assert helper.status == "fail" and "'zai'" in helper.message and helper.fix


def test_missing_model_fails() -> None:
    checks = check_openclaw(parse_openclaw('{agents: {list: [{id: "a"}]}}'))
    a = next(c for c in checks if c.id == "openclaw.agents")
    assert a.status == "fail" and "no model" in a.message


@pytest.mark.parametrize(
    ("memory", "status"),
    [
        ('{provider: "local"}', "ok"),
        ('{provider: "ollama", model: "nomic-embed-text"}', "ok"),
        ('{provider: "openai", remote: {baseUrl: "http://localhost:11434/v1/"}}', "ok"),
        ('{provider: "openai", model: "text-embedding-3-small"}', "warn"),
        ('{provider: "ollama", remote: {baseUrl: "http://10.0.0.5:11434"}}', "warn"),
        ("{}", "warn"),  # auto may pick a remote API
        ('{enabled: false, provider: "openai"}', "skip"),
    ],
)
def test_memory_search(memory: str, status: str) -> None:
    oc = parse_openclaw(f'{{agents: {{defaults: {{model: "a/b", memorySearch: {memory}}}}}}}')
    (check,) = memory_checks(oc)
    assert check.status == status
    if status == "warn":
        assert check.fix


def test_memory_search_absent_is_skipped() -> None:
    assert [c.status for c in memory_checks(parse_openclaw("{}"))] == ["skip"]


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        ("{}", "skip"),
        ('{acp: {enabled: true}, plugins: {allow: ["acpx", "x"]}}', "ok"),
        ('{acp: {enabled: true}, plugins: {allow: ["x"]}}', "fail"),
        ('{acp: {backend: "acpx"}}', "warn"),
        ('{acp: {enabled: true}, plugins: {allow: ["acpx"], deny: ["acpx"]}}', "fail"),
        (
            '{acp: {enabled: true}, plugins: {allow: ["acpx"], entries: {acpx: {enabled: false}}}}',
            "fail",
        ),
        ('{agents: {list: [{id: "c", runtime: {type: "acp"}}]}, plugins: {allow: []}}', "fail"),
    ],
)
def test_acpx(doc: str, status: str) -> None:
    (check,) = acpx_checks(parse_openclaw(doc))
    assert check.status == status
    if status in ("warn", "fail"):
        assert "acpx" in check.fix


def test_cli_models_resolve_and_chain_with_openclaw(oc_file: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["models", "resolve", "glm", "--openclaw", str(oc_file), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["key"] == "Z.AI/glm-4.6"
    r = runner.invoke(cli, ["models", "chain", "main", "--openclaw", str(oc_file), "--json"])
    doc = json.loads(r.output)
    assert [c["key"] for c in doc["candidates"]] == [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-5.2",
        "anthropic/claude-sonnet-4-5",
    ]
    r = runner.invoke(cli, ["models", "chain", "ghost", "--openclaw", str(oc_file)])
    assert r.exit_code == 1


def test_cli_preflight_openclaw_json(oc_file: Path) -> None:
    r = CliRunner().invoke(cli, ["preflight", "--openclaw", str(oc_file), "--json", "--check"])
    doc = json.loads(r.output)
    assert r.exit_code == 1
    ids = {c["id"] for c in doc["checks"]}
    assert {
        "config.load",
        "openclaw.agents",
        "openclaw.fallbacks",
        "openclaw.memory",
        "openclaw.acpx",
    } <= ids
    assert not any(i.startswith("policy.") for i in ids)  # the laneboard config is not checked
    assert {a["id"] for a in doc["openclaw_agents"]} == {"main", "coder", "helper", "ghost"}
    assert all(c["fix"] for c in doc["checks"] if c["status"] in ("warn", "fail"))


# ---------------------------------------------------------------- OpenClaw's selection rules
# Each case is a real openclaw.json file on disk, read the way `preflight --openclaw` reads it.


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "openclaw.json"
    p.write_text(text)
    return p


@pytest.mark.parametrize("where", ["models", "modelPolicy"])
def test_provider_star_admits_every_model_of_that_provider(tmp_path: Path, where: str) -> None:
    allow = (
        'models: { "OpenAI/*": {}, "anthropic/claude-opus-4-5": { alias: "opus" } }'
        if where == "models"
        else 'modelPolicy: { allow: ["openai/*", "anthropic/claude-opus-4-5"] }'
    )
    oc = load_openclaw(_write(tmp_path, f"""{{
      agents: {{ defaults: {{ model: "anthropic/claude-opus-4-5", {allow} }},
                 list: [{{ id: "coder", model: "openai/gpt-5.5-codex" }}] }},
    }}"""))
    assert oc.resolve("openai/gpt-5.5").allowed
    assert oc.resolve("openai/o3-pro").allowed
    assert not oc.resolve("google/gemini-3-pro").allowed
    assert not oc.resolve("anthropic/claude-haiku-4-5").allowed  # no wildcard for anthropic
    # `*` is not a model: it neither resolves a bare id nor becomes a did-you-mean
    assert oc.resolve("*").key != "openai/*"
    by = {(c.id, c.subject): c.status for c in check_openclaw(oc)}
    assert by[("openclaw.agents", "agent coder")] == "ok"


def test_configured_default_and_fallbacks_are_allowed_unlisted(tmp_path: Path) -> None:
    oc = load_openclaw(_write(tmp_path, """{
      agents: { defaults: {
        model: { primary: "openai/gpt-5.5", fallbacks: ["anthropic/claude-sonnet-4-5", "mini"] },
        models: { "openai/gpt-5.2": {}, "openai/gpt-5.5-mini": { alias: "mini" } },
      } },
    }"""))
    assert oc.policy_source == "agents.defaults.models"
    assert oc.resolve("openai/gpt-5.5").allowed  # the default model, not in models
    assert oc.resolve("anthropic/claude-sonnet-4-5").allowed  # a configured fallback
    assert oc.resolve("mini").allowed
    assert not oc.resolve("openai/gpt-4o").allowed  # anything else is still refused
    assert not oc.resolve("anthropic/claude-opus-4-5").allowed
    checks = check_openclaw(oc)
    assert [c for c in checks if c.id == "openclaw.agents" and c.status != "ok"] == []
    main = next(c for c in checks if c.id == "openclaw.agents")
    assert "openai/gpt-5.5 → anthropic/claude-sonnet-4-5" in main.message.replace("`", "")


def test_configured_default_is_allowed_under_a_model_policy_too(tmp_path: Path) -> None:
    oc = load_openclaw(_write(tmp_path, """{
      agents: { defaults: { model: { primary: "openai/gpt-5.5", fallbacks: ["ollama/qwen3:7b"] },
                            modelPolicy: { allow: ["openai/gpt-5.2"] } } },
    }"""))
    assert oc.resolve("openai/gpt-5.5").allowed and oc.resolve("ollama/qwen3:7b").allowed
    assert not oc.resolve("ollama/qwen3:14b").allowed


@pytest.mark.parametrize("primary", ["ollama/qwen3:7b", "local"])
def test_bare_id_two_providers_offer_goes_to_the_primarys_provider(
    tmp_path: Path, primary: str
) -> None:
    """`gpt-oss:20b` is offered by openai and ollama: not unique, so the default provider
    decides — the provider of the configured primary (named directly or through an alias),
    not OpenClaw's built-in `anthropic`."""
    p = _write(tmp_path, f"""{{
      agents: {{ defaults: {{
        model: {{ primary: "{primary}" }},
        models: {{ "openai/gpt-oss:20b": {{}}, "ollama/gpt-oss:20b": {{}},
                  "ollama/qwen3:7b": {{ alias: "local" }}, "deepseek-r1": {{}} }},
      }} }},
    }}""")
    oc = load_openclaw(p)
    res = oc.resolve("gpt-oss:20b")
    assert (res.key, res.via, res.allowed) == ("ollama/gpt-oss:20b", "default-provider", True)
    # a bare allowlist key belongs to that default provider as well
    bare = oc.resolve("ollama/deepseek-r1")
    assert bare.allowed, bare
    r = CliRunner().invoke(cli, ["models", "resolve", "gpt-oss:20b", "--openclaw", str(p), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["key"] == "ollama/gpt-oss:20b"


def test_without_a_primary_the_default_provider_stays_anthropic(tmp_path: Path) -> None:
    oc = load_openclaw(_write(tmp_path, """{
      agents: { defaults: { models: { "anthropic/claude-sonnet-4-5": {}, "openai/claude-sonnet-4-5": {} } } },
    }"""))
    assert oc.resolve("claude-sonnet-4-5").key == "anthropic/claude-sonnet-4-5"
