"""`laneboard route` end to end: a real process on small configs written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
version: 1
models:
  oa/big: {alias: big, tier: orchestrator}
  an/opus: {alias: opus, tier: escalation}
  ol/qwen:7b: {alias: qwen, tier: local}
lanes:
  main: {role: orchestrator, harness: codex, model: big, fence: workspace-write, input: untrusted}
  coder: {role: coder, harness: codex, model: big, fence: workspace-write}
  review: {role: reviewer, harness: claude-code, model: opus, fence: plan}
  helper: {role: helper, harness: ollama, model: qwen, fence: read-only}
routing:
  default: main
  untrusted: main
  rules:
    - {name: review, match: {prefix: review}, lane: review}
    - {name: build, match: {regex: "\\\\b(build|implement)\\\\b"}, lane: coder}
  tools: {edit: coder}
  triage: {lane: helper}
"""

REFUSING = CONFIG.replace("  default: main\n  untrusted: main\n", "  default: coder\n")


def run(
    args: list[str], tmp_path: Path, config: str = CONFIG, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "laneboard.yaml"
    path.write_text(config)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("LANEBOARD_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", *args, "--config", str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "lane", "rule", "fence", "escalate", "triage"),
    [
        (["review the diff"], "review", "review", "plan", True, False),
        (["please implement it"], "coder", "build", "workspace-write", False, False),
        (["hello"], "main", "default", "workspace-write", False, False),
        (["@helper hi"], "helper", "@lane", "read-only", False, False),
        (["@helper hi", "--untrusted"], "main", "untrusted", "workspace-write", False, True),
        (["x", "--tool", "Edit"], "coder", "tool:edit", "workspace-write", False, False),
    ],
)
def test_json(
    tmp_path: Path, args: list[str], lane: str, rule: str, fence: str, escalate: bool, triage: bool
) -> None:
    p = run(["route", *args, "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert list(doc) == ["lane", "rule", "reason", "fence", "escalate", "triage", "deny", "enforced_by"]
    assert (doc["lane"], doc["rule"], doc["fence"], doc["escalate"], doc["triage"]) == (
        lane,
        rule,
        fence,
        escalate,
        triage,
    )
    assert doc["reason"]


def test_human_output(tmp_path: Path) -> None:
    p = run(["route", "@helper read this", "--untrusted"], tmp_path)
    assert p.returncode == 0, p.stderr
    first, reason, flags, held = p.stdout.splitlines()
    assert held.strip().startswith("fence workspace-write · deny: ")
    assert first.startswith("main") and "untrusted" in first
    assert "@helper was asked for" in reason and "local tier" in reason
    assert "fence workspace-write" in flags and "triage first" in flags


def test_prompt_from_stdin(tmp_path: Path) -> None:
    p = run(["route", "-", "--json"], tmp_path, stdin="review this change\n")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["lane"] == "review"


def test_refusal_exits_1_and_says_why(tmp_path: Path) -> None:
    p = run(["route", "read my mail", "--untrusted", "--json"], tmp_path, config=REFUSING)
    assert p.returncode == 1
    assert p.stdout == ""
    assert "untrusted input refused" in p.stderr and "routing.untrusted" in p.stderr


def test_config_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    broken = CONFIG.replace("lane: coder}", "lane: codr}", 1)
    line = 1 + broken[: broken.index("codr")].count("\n")
    p = run(["route", "x", "--json"], tmp_path, config=broken)
    assert p.returncode == 2
    assert f"{tmp_path / 'laneboard.yaml'}:{line}:" in p.stderr
    assert "did you mean 'coder'" in p.stderr


def test_root_config_option_works_too(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "laneboard.cli",
            "--config",
            str(path),
            "route",
            "review x",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["lane"] == "review"
