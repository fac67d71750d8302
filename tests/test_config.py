"""config.yaml loading: every kind of bad input names file:line and exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneboard.config import Config, json_schema, load_config, parse_config, shipped_config_bytes
from laneboard.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
version: 1
models:
  ollama/qwen3:7b: {alias: triage, tier: local}
lanes:
  helper:
    role: helper
    harness: ollama
    model: triage
"""


def problems(text: str | bytes, name: str = "cfg.yaml") -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(ConfigError) as info:
        parse_config(raw, name)
    return [p.render() for p in info.value.problems]


def test_shipped_config_loads_and_is_the_package_default() -> None:
    loaded = load_config(ROOT / "config.yaml")
    assert (ROOT / "config.yaml").read_bytes() == shipped_config_bytes()
    cfg = loaded.config
    assert {"main", "coder", "review", "triage", "commit"} <= set(cfg.lanes)
    assert cfg.lanes["review"].fence == "plan"
    assert cfg.models["openai-codex/gpt-5.5"].alias == "gpt55"


def test_every_shipped_key_has_a_comment() -> None:
    for number, line in enumerate((ROOT / "config.yaml").read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assert "#" in line, f"config.yaml:{number} has no comment: {line!r}"


def test_every_model_field_is_documented() -> None:
    def walk(model: type) -> None:
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            assert field.description, f"{model.__name__}.{name} has no docstring"
            ann = field.annotation
            for sub in (*getattr(ann, "__args__", ()), ann):
                if isinstance(sub, type) and hasattr(sub, "model_fields"):
                    walk(sub)

    walk(Config)


def test_minimal_config_loads() -> None:
    loaded = parse_config(MINIMAL.encode(), "cfg.yaml")
    assert loaded.config.lanes["helper"].fence == "read-only"  # the safe default


def test_command_only_config_needs_no_models() -> None:
    parse_config(b"version: 1\nlanes:\n  sh: {role: helper, harness: command, command: sh}\n", "c")


def test_yaml_syntax_error_has_line_and_column() -> None:
    (msg,) = problems("version: 1\nlanes:\n  a: [1, 2\n  b: 3\n")
    assert msg.startswith("cfg.yaml:4:")
    assert "YAML syntax error" in msg


def test_unknown_key_has_did_you_mean() -> None:
    text = MINIMAL + "    fense: plan\n"
    (msg,) = problems(text)
    assert msg.startswith("cfg.yaml:9:5: lanes.helper.fense: unknown key 'fense'")
    assert "did you mean 'fence'?" in msg


def test_unknown_top_level_key() -> None:
    (msg,) = problems(MINIMAL + "lane: {}\n")
    assert msg.startswith("cfg.yaml:9:1: lane: unknown key")
    assert "did you mean 'lanes'?" in msg


def test_duplicated_key_is_an_error_not_last_wins() -> None:
    text = MINIMAL + "    fence: read-only\n    fence: full\n"
    (msg,) = problems(text)
    assert msg.startswith("cfg.yaml:10:5: lanes.helper.fence: duplicated key 'fence'")
    assert "first at line 9" in msg


def test_wrong_type_and_bad_choice() -> None:
    (msg,) = problems(MINIMAL + "    fence: writable\n")
    assert msg.startswith("cfg.yaml:9:12: lanes.helper.fence: 'writable' is not allowed here")
    assert "expected: one of" in msg
    (msg,) = problems(MINIMAL.replace("version: 1", "version: one"))
    assert msg.startswith("cfg.yaml:1:10: version:")


def test_bad_reference_names_the_lane() -> None:
    (msg,) = problems(MINIMAL + "routing:\n  default: helpr\n")
    assert msg.startswith("cfg.yaml:10:12: routing.default: no lane named 'helpr'")
    assert "did you mean 'helper'?" in msg


def test_tool_routing_both_forms_and_bad_lane_in_map_form() -> None:
    ok = MINIMAL + "routing:\n  default: helper\n  tools: [{tools: [edit, write], lane: helper}]\n"
    cfg = parse_config(ok.encode(), "c").config
    assert cfg.routing is not None and cfg.routing.tools[0].tools == ["edit", "write"]
    (msg,) = problems(MINIMAL + "routing:\n  default: helper\n  tools: {edit: coder}\n")
    assert msg.startswith("cfg.yaml:11:17: routing.tools.edit: no lane named 'coder'")


def test_duplicate_alias() -> None:
    text = MINIMAL.replace(
        "  ollama/qwen3:7b: {alias: triage, tier: local}\n",
        "  ollama/qwen3:7b: {alias: triage, tier: local}\n  ollama/qwen3:8b: {alias: Triage, tier: local}\n",
    )
    (msg,) = problems(text)
    assert "alias 'Triage' is already used by 'ollama/qwen3:7b'" in msg
    assert msg.startswith("cfg.yaml:4:")


def test_non_mapping_document() -> None:
    (msg,) = problems("- version: 1\n")
    assert msg.startswith("cfg.yaml:1:1:") and "not a mapping" in msg


def test_undecodable_bytes() -> None:
    (msg,) = problems(b"version: 1\nlanes:\n  a\xff: {}\n")
    assert msg.startswith("cfg.yaml:3:4:") and "not valid UTF-8" in msg


def test_empty_file_and_multiple_documents() -> None:
    (msg,) = problems("")
    assert "empty" in msg
    (msg,) = problems(MINIMAL + "---\nversion: 1\n")
    assert "more than one YAML document" in msg


def test_invalid_regex_and_command_fields() -> None:
    text = MINIMAL + "routing:\n  default: helper\n  rules:\n    - {name: r, match: {regex: '('}, lane: helper}\n"
    (msg,) = problems(text)
    assert msg.startswith("cfg.yaml:12:32: routing.rules[0].match.regex:") and "regex is not valid" in msg
    (msg,) = problems(MINIMAL + "    command: [sh]\n")
    assert "only for command lanes" in msg


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/laneboard.yaml")
    assert "no such file" in str(info.value)


def test_schema_is_valid_and_accepts_the_shipped_config() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.safe_load(shipped_config_bytes())
    # The map form of routing.tools is normalised by a validator, so the schema sees the list form.
    data["routing"]["tools"] = [{"tools": [k], "lane": v} for k, v in data["routing"]["tools"].items()]
    jsonschema.validate(data, schema)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_cli_config_check_ok_and_schema() -> None:
    res = run_cli("config", "check", str(ROOT / "config.yaml"))
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout and "lane main" in res.stdout
    res = run_cli("config", "schema")
    assert res.returncode == 0
    assert json.loads(res.stdout)["title"] == "laneboard config.yaml"


def test_cli_bad_config_exits_2_with_location_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL + "    fense: plan\n")
    res = run_cli("config", "check", str(bad))
    assert res.returncode == 2
    assert f"{bad}:9:5" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    res = run_cli("config", "check", "--json", str(bad))
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["problems"][0]["line"] == 9


def test_config_path_discovery(tmp_path: Path) -> None:
    (tmp_path / "laneboard.yaml").write_text(MINIMAL)
    res = run_cli("config", "path", cwd=tmp_path)
    assert res.returncode == 0 and "laneboard.yaml" in res.stdout and "./laneboard.yaml" in res.stdout


def test_placeholder_commands_refuse_loudly() -> None:
    res = run_cli("--help")
    assert res.returncode == 0 and "preflight" in res.stdout


_SHIPPED = shipped_config_bytes().decode()
_FRAGMENTS = [":", "- ", "{", "}", "[", "]", "'", '"', "\t", "  ", "\n", "#", "&a", "*a", "!!python/object", "<<: *a", "null", "1e999", "~", "\x00", "é", "?"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(_SHIPPED)),
            st.integers(min_value=0, max_value=12),
            st.sampled_from(_FRAGMENTS) | st.text(max_size=4),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_config_loads_or_fails_cleanly(edits: list[tuple[int, int, str]]) -> None:
    text = _SHIPPED
    for pos, cut, insert in edits:
        pos = min(pos, len(text))
        text = text[:pos] + insert + text[pos + cut :]
    try:
        parse_config(text.encode("utf-8", "surrogatepass"), "mutant.yaml")
    except ConfigError as e:
        assert e.problems and all(p.location.file == "mutant.yaml" for p in e.problems)


def test_a_mixed_case_provider_id_is_refused_with_its_line() -> None:
    """Model refs fold their provider half to lower case, so `provA` would never be found:
    the lane started with no base_url and no key and failed as 'not logged in'."""
    text = MINIMAL.replace(
        "models:",
        "providers:\n  provA:\n    harness: claude-code\n    base_url: http://127.0.0.1:9\n"
        "models:\n  provA/m1: {tier: orchestrator}",
    )
    found = problems(text)
    assert any("cfg.yaml:4:" in p and "providers.provA" in p and "'prova'" in p for p in found), found
    assert not problems_or_none(text.replace("provA", "prova"))


def problems_or_none(text: str) -> list[str]:
    try:
        parse_config(text.encode(), "cfg.yaml")
    except ConfigError as e:
        return [p.render() for p in e.problems]
    return []
