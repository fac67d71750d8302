"""The review ladder end to end: real git repos (and a bare remote with refs/pull/N/head),
the stand-in Ollama endpoint as rungs 1 and 2, the REAL `claude` in plan mode as the
escalation rung (against the stand-in Anthropic endpoint), `laneboard review` run as a
subprocess. Plus the pure parts: findings, the path rule, SARIF against the OASIS schema.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from laneboard.harnesses.claude.launch import seed_isolated_config
from laneboard.lanes import findings as fnd
from laneboard.lanes.review_ladder import risky_paths
from laneboard.lanes.sarif import to_sarif
from laneboard.standins import Reply, StandinServer

SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
}

CONFIG = """\
version: 1
tmux: {{socket: {socket}}}
providers:
  anthropic: {{harness: claude-code, base_url: "{url}"}}
  ollama: {{harness: ollama, base_url: "{ollama}"}}
models:
  anthropic/claude-opus-4-5: {{alias: opus, tier: escalation}}
  ollama/qwen3:7b: {{alias: small, tier: local}}
lanes:
  triage: {{role: helper, harness: ollama, model: small, fence: read-only}}
  second: {{role: reviewer, harness: ollama, model: small, fence: read-only}}
  review:
    role: reviewer
    harness: claude-code
    model: opus
    fallbacks: []
    fence: plan
    env:
      CLAUDE_CONFIG_DIR: "{claude_dir}"
      CLAUDE_CODE_MAX_RETRIES: "2"
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"
      ANTHROPIC_AUTH_TOKEN: "standin-token-not-secret"
routing: {{default: review}}
artifacts: {{dir: "{artifacts}"}}
review:
  ladder:
    - {{lane: triage, does: classify}}
    - {{lane: second, does: review}}
    - {{lane: review, does: escalate}}
  escalate: {{paths: ["auth/**", "**/auth/**"], lines: 400, severity: HIGH}}
  budget: {{tokens: {budget}}}
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


@dataclass
class Setup:
    repo: Path
    config: Path
    env: dict[str, str]
    tmp: Path


def make_setup(tmp_path: Path, standin: StandinServer, budget: int = 1_000_000) -> Setup:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# shop\n")
    (repo / "app.py").write_text("def total(items):\n    return sum(items)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    claude_dir = tmp_path / "claude-config"
    seed_isolated_config(claude_dir, repo)
    socket = f"lb-ladder-{secrets.token_hex(4)}"
    config = tmp_path / "laneboard.yaml"
    config.write_text(CONFIG.format(socket=socket, url=standin.url, ollama=standin.url,
                                    claude_dir=claude_dir, artifacts=tmp_path / "artifacts",
                                    budget=budget))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_", "LANEBOARD_", "TMUX", "OLLAMA_"))}
    env.update(GIT_ENV)
    env["LANEBOARD_TMUX_SOCKET"] = socket
    env["LANEBOARD_STATE_DIR"] = str(tmp_path / "state")
    return Setup(repo, config, env, tmp_path)


@pytest.fixture
def setup(tmp_path: Path, standin: StandinServer) -> Iterator[Setup]:
    s = make_setup(tmp_path, standin)
    try:
        yield s
    finally:
        sock = s.env["LANEBOARD_TMUX_SOCKET"]
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, timeout=10,
                       check=False)
        (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / sock).unlink(
            missing_ok=True)


def commit_change(repo: Path, path: str, text: str, branch: str = "feature") -> None:
    git(repo, "checkout", "-q", "-b", branch)
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {path}")


def review(s: Setup, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", "review", *args, "--config", str(s.config)],
        cwd=s.repo, env=s.env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def need_claude() -> None:
    if shutil.which("claude") is None or shutil.which("tmux") is None:
        pytest.fail("needs the pinned `claude` (see tests/conftest.py) and tmux")


# ---------------------------------------------------------------------------- pure parts


def test_findings_lines_json_and_outside_diff() -> None:
    answer = ("CLASS: risky\n- [HIGH] auth/login.py:3 - password compared with ==; use "
              "hmac.compare_digest\n**MINOR:** app.py:40 - naming\n[NIT] general remark\n")
    parsed = fnd.parse(answer, rung=2, model="m")
    assert [(f.severity, f.file, f.line) for f in parsed.findings] == [
        ("HIGH", "auth/login.py", 3), ("MINOR", "app.py", 40), ("NIT", None, None)]
    assert parsed.findings[0].title.startswith("password compared")
    assert parsed.findings[0].detail == "use hmac.compare_digest"
    diff = "diff --git a/auth/login.py b/auth/login.py\n@@ -1,2 +1,4 @@\n a\n+b\n+c\n d\n"
    outside = fnd.flag_outside_diff(parsed.findings, fnd.new_line_ranges([("auth/login.py",
                                                                            diff)]))
    assert outside == 1
    assert [f.in_diff for f in parsed.findings] == [True, False, None]
    js = fnd.parse('```json\n{"findings": [{"severity": "critical", "file": "a.py", "line": 2, '
                   '"title": "t"}]}\n```')
    assert js.form == "json" and js.findings[0].severity == "CRITICAL"


def test_escalation_paths_rule() -> None:
    globs = ["auth/**", "**/auth/**", "**/*.lock"]
    assert risky_paths(["auth/login.py", "src/auth/x/y.py", "uv.lock", "docs/authors.md"],
                       globs) == ["auth/login.py", "src/auth/x/y.py", "uv.lock"]


def test_sarif_validates_against_the_oasis_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    found = fnd.parse("[BLOCKER] a.py:3 - key; rotate it\n[NIT] b.py - style\n[LOW] note",
                      rung=1, model="qwen").findings
    found[1].in_diff = False
    doc = to_sarif(found, version="0.1.0")
    jsonschema.Draft4Validator(schema).validate(doc)
    levels = [r["level"] for r in doc["runs"][0]["results"]]
    assert levels == ["error", "note", "warning"]
    bad = json.loads(json.dumps(doc))
    bad["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(bad)


# ---------------------------------------------------------------------------- ladder


@pytest.mark.slow
def test_trivial_diff_stops_at_rung_one(setup: Setup, standin: StandinServer) -> None:
    commit_change(setup.repo, "README.md", "# shop\n\nA tiny shop.\n")
    standin.script(Reply.text("CLASS: trivial\nNo findings.\nA README line.", input_tokens=300,
                              output_tokens=10), dialect="ollama")
    out = review(setup, "--base", "main", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["ran"] for r in doc["rungs"]] == [True, False, False]
    assert "trivial" in doc["stopped"] and doc["rungs"][0]["tokens"] == 310
    assert standin.calls("anthropic") == [] and len(standin.calls("ollama")) == 1
    art = Path(doc["artifact"]).read_text()
    assert "Rung 1: triage" in art and "stopped:" in art


@pytest.mark.slow
@pytest.mark.tmux
def test_auth_diff_climbs_to_opus_with_sarif_and_fail_on(setup: Setup,
                                                          standin: StandinServer) -> None:
    need_claude()
    commit_change(setup.repo, "auth/login.py",
                  "def check(pw, stored):\n    return pw == stored\n")
    # the classifier calls it trivial: the path rule climbs anyway
    standin.script(Reply.text("CLASS: trivial\nNo findings."), dialect="ollama")
    standin.script(Reply.text("[MINOR] auth/login.py:2 - use hmac.compare_digest"),
                   dialect="ollama")
    standin.script(Reply.text("[HIGH] auth/login.py:2 - timing attack; use compare_digest\n"
                              "[LOW] auth/login.py:90 - unrelated old code",
                              input_tokens=900, output_tokens=40), dialect="anthropic")
    sarif = setup.tmp / "out.sarif"
    out = review(setup, "--base", "main", "--json", "--sarif", str(sarif), "--fail-on", "high",
                 "--timeout", "150")
    assert out.returncode == 3, f"{out.stdout}\n{out.stderr}"
    doc = json.loads(out.stdout)
    assert [r["ran"] for r in doc["rungs"]] == [True, True, True]
    assert any("auth/login.py" in r for r in doc["escalation_reasons"])
    assert "[MINOR] auth/login.py:2" in (standin.last_prompt("anthropic") or "")
    top = [f for f in doc["findings"] if f["rung"] == 3]
    assert [(f["severity"], f["in_diff"]) for f in top] == [("HIGH", True), ("LOW", False)]
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(
        json.loads(sarif.read_text()))
    assert git(setup.repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_high_finding_on_rung_two_climbs_but_max_rung_caps(setup: Setup,
                                                             standin: StandinServer) -> None:
    commit_change(setup.repo, "app.py", "def total(items):\n    return sum(items) * 2\n")
    standin.script(Reply.text("CLASS: normal"), dialect="ollama")
    standin.script(Reply.text("[HIGH] app.py:2 - doubles every total"), dialect="ollama")
    out = review(setup, "--base", "main", "--json", "--max-rung", "2")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["ran"] for r in doc["rungs"]] == [True, True, False]
    assert any("at or above HIGH" in r for r in doc["escalation_reasons"])
    assert doc["stopped"] == "--max-rung 2" and standin.calls("anthropic") == []


@pytest.mark.slow
def test_normal_diff_without_rules_stops_before_escalation(setup: Setup,
                                                           standin: StandinServer) -> None:
    commit_change(setup.repo, "app.py", "def total(items):\n    return sum(items, 0)\n")
    standin.script(Reply.text("CLASS: normal"), Reply.text("[NIT] app.py:2 - fine"),
                   dialect="ollama")
    out = review(setup, "--base", "main", "--json", "--fail-on", "high")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["ran"] for r in doc["rungs"]] == [True, True, False]
    assert "no escalation rule fired" in doc["stopped"] and standin.calls("anthropic") == []


@pytest.mark.slow
def test_budget_stops_the_climb(tmp_path: Path, standin: StandinServer) -> None:
    s = make_setup(tmp_path, standin, budget=1_500)
    commit_change(s.repo, "app.py", "def total(items):\n    return sum(items) + 1\n")
    standin.script(Reply.text("CLASS: normal", input_tokens=900, output_tokens=10),
                   dialect="ollama")
    out = review(s, "--base", "main", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["ran"] for r in doc["rungs"]] == [True, False, False]
    assert "review.budget.tokens 1,500" in doc["stopped"]
    assert len(standin.calls("ollama")) == 1


@pytest.mark.slow
def test_pr_from_a_bare_remote(setup: Setup, standin: StandinServer) -> None:
    remote = setup.tmp / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env={
        **os.environ, **GIT_ENV})
    git(setup.repo, "remote", "add", "upstream", str(remote))
    git(setup.repo, "push", "-q", "upstream", "main")
    commit_change(setup.repo, "docs.md", "hello\n", branch="contrib")
    git(setup.repo, "push", "-q", "upstream", "contrib:refs/pull/7/head")
    git(setup.repo, "checkout", "-q", "main")
    git(setup.repo, "branch", "-q", "-D", "contrib")
    standin.script(Reply.text("CLASS: trivial"), dialect="ollama")
    out = review(setup, "--pr", "7", "--remote", "upstream", "--base", "main", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["head"] == "refs/laneboard/pull/7/head"
    assert "+hello" in (standin.last_prompt("ollama") or "")
    missing = review(setup, "--pr", "8", "--remote", "upstream", "--json")
    assert missing.returncode == 2 and "could not fetch pull request 8" in missing.stderr
