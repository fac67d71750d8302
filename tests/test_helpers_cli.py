"""`laneboard commit-msg` and `laneboard triage`, run as the real CLI against the stand-in
Ollama endpoint (and against a closed port, where triage must fail closed)."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactStore
from laneboard.commands.commit_msg import clean_message, is_conventional, pick_commit_lane
from laneboard.errors import UsageError
from laneboard.lanes.loading import load_file
from laneboard.standins import Reply, StandinServer

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}

CONFIG = """\
version: 1
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/qwen3:7b: {{alias: small, tier: local}}
  ollama/qwen3-embedding:8b: {{alias: embed, tier: local, kind: embedding}}
lanes:
  commit: {{role: helper, harness: ollama, model: small, fence: read-only}}
  triage: {{role: helper, harness: ollama, model: small, fence: read-only}}
routing:
  default: commit
  rules:
    - {{name: commit-message, match: {{prefix: "commit message"}}, lane: commit}}
  triage: {{lane: triage, timeout_s: {triage_timeout}}}
artifacts: {{dir: "{artifacts}", embed_model: embed}}
"""


def fake_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "sk-ant-api03-" + "".join(secrets.choice(alphabet) for _ in range(40))


@dataclass
class Env:
    root: Path
    repo: Path
    config: Path
    artifacts: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "laneboard.cli", *args, "--config", str(self.config)],
            cwd=self.repo, env=self.env, input=stdin if stdin is not None else "",
            capture_output=True, text=True, timeout=120,
        )

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.repo, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def store(self) -> ArtifactStore:
        return ArtifactStore(self.artifacts)


def make_env(tmp_path: Path, url: str, *, triage_timeout: float = 10) -> Env:
    repo = tmp_path / "repo"
    repo.mkdir()
    artifacts = tmp_path / "artifacts"
    config = tmp_path / "laneboard.yaml"
    config.write_text(CONFIG.format(url=url, artifacts=artifacts, triage_timeout=triage_timeout))
    env = {**os.environ, **GIT_ENV,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state"),
           "LANEBOARD_TMUX_SOCKET": f"lb-test-{secrets.token_hex(4)}"}
    env.pop("LANEBOARD_CONFIG", None)
    e = Env(tmp_path, repo, config, artifacts, env)
    e.git("init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    e.git("add", "-A")
    e.git("commit", "-q", "-m", "initial")
    return e


@pytest.fixture
def env(tmp_path: Path, standin: StandinServer) -> Env:
    return make_env(tmp_path, standin.url)


# ---------------------------------------------------------------------------- pure parts

@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("feat(cli): add review\n\nBody.", "feat(cli): add review\n\nBody."),
        ("<think>hmm, a feature</think>\nfix: handle empty diff", "fix: handle empty diff"),
        ("```\nchore: bump deps\n```", "chore: bump deps"),
        ("```text\ndocs: explain review\n\nMore.\n```\n", "docs: explain review\n\nMore."),
        ("Commit message:\nrefactor: split module", "refactor: split module"),
        ('"test: cover triage"', "test: cover triage"),
        ("  \n", ""),
    ],
)
def test_clean_message(reply: str, message: str) -> None:
    assert clean_message(reply) == message


def test_conventional_header() -> None:
    assert is_conventional("feat(cli)!: drop --foo\n\nbody")
    assert is_conventional("fix: x")
    assert not is_conventional("Add a thing")
    assert not is_conventional("feature: x")
    assert not is_conventional("")


def test_commit_lane_rule(tmp_path: Path) -> None:
    e = make_env(tmp_path, "http://127.0.0.1:9")
    cfg = load_file(str(e.config)).config
    assert pick_commit_lane(cfg) == ("commit", "routing rule 'commit-message'")
    text = e.config.read_text().replace("    - {name: commit-message", "    - {name: other")
    e.config.write_text(text)
    assert pick_commit_lane(load_file(str(e.config)).config)[1] == "the lane named 'commit'"
    text = text.replace("  commit: {role: helper, harness: ollama, model: small, fence: read-only}",
                        "  scribe: {role: helper, harness: ollama, model: small, fence: workspace-write}")
    text = text.replace("default: commit", "default: scribe").replace("lane: commit}", "lane: scribe}")
    text = text.replace("{name: other", "{name: commit-message")
    e.config.write_text(text)
    with pytest.raises(UsageError, match="fence workspace-write"):
        pick_commit_lane(load_file(str(e.config)).config)


# ---------------------------------------------------------------------------- commit-msg

def test_commit_msg_prints_the_message_and_stores_an_artifact(env: Env,
                                                              standin: StandinServer) -> None:
    key = fake_key()
    (env.repo / "app.py").write_text(f'KEY = "{key}"\ndef greet():\n    return "hi"\n')
    env.git("add", "app.py")
    standin.script(Reply.text("<think>new greeting</think>\nfeat(app): add greet()\n\nSays hi."),
                   dialect="ollama")
    out = env.run("commit-msg")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "feat(app): add greet()\n\nSays hi.\n"
    prompt = standin.last_prompt("ollama") or ""
    assert "def greet" in prompt and "Conventional Commits" in prompt
    assert key not in prompt and "[REDACTED:" in prompt
    (row,) = env.store().list(kind="commit-message")
    art = env.store().get(row.id)
    assert art.lane == "commit" and art.extra["message"].startswith("feat(app)")
    assert key not in art.path.read_text()
    assert env.git("log", "--format=%s").splitlines() == ["initial"]  # nothing committed


def test_commit_msg_apply_commits_without_an_editor(env: Env, standin: StandinServer) -> None:
    (env.repo / "b.py").write_text("x = 1\n")
    env.git("add", "b.py")
    standin.script(Reply.text("feat: add b"), dialect="ollama")
    env.env["GIT_EDITOR"] = "false"  # an editor would fail the commit: stdin is not a tty
    out = env.run("commit-msg", "--apply", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.splitlines()[0])
    assert doc["message"] == "feat: add b" and doc["conventional"] is True
    assert env.git("log", "-1", "--format=%B").strip() == "feat: add b"


def test_commit_msg_with_nothing_staged_is_a_usage_error(env: Env) -> None:
    out = env.run("commit-msg")
    assert out.returncode == 2 and "nothing is staged" in out.stderr


def test_commit_msg_fails_when_the_model_is_down(tmp_path: Path, unreachable_url: str) -> None:
    e = make_env(tmp_path, unreachable_url)
    (e.repo / "c.py").write_text("y = 2\n")
    e.git("add", "c.py")
    out = e.run("commit-msg")
    assert out.returncode == 1 and out.stdout == ""
    assert "commit-msg lane commit" in out.stderr


# ---------------------------------------------------------------------------- triage

@pytest.mark.parametrize(("answer", "verdict"), [("SKIP", "SKIP"), ("ESCALATE", "ESCALATE")])
def test_triage_answers(env: Env, standin: StandinServer, answer: str, verdict: str) -> None:
    standin.script(Reply.text(answer), dialect="ollama")
    out = env.run("triage", stdin="Newsletter: 10 tips for spring.\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{verdict}\n"
    assert "Newsletter: 10 tips" in (standin.last_prompt("ollama") or "")
    (row,) = env.store().list(kind="triage")
    assert row.meta["extra"]["verdict"] == verdict


def test_triage_json_and_redaction(env: Env, standin: StandinServer) -> None:
    key = fake_key()
    standin.script(Reply.text("maybe skip?"), dialect="ollama")
    out = env.run("triage", "--json", stdin=f"please rotate {key} today\n")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "ESCALATE" and doc["failed_closed"] is True
    assert "neither ESCALATE nor SKIP" in doc["reason"]
    assert key not in (standin.last_prompt("ollama") or "x" + key)
    assert key not in Path(doc["artifact"]).read_text()


def test_triage_fails_closed_when_the_endpoint_is_down(tmp_path: Path,
                                                       unreachable_url: str) -> None:
    e = make_env(tmp_path, unreachable_url)
    out = e.run("triage", "--json", stdin="Click here to claim your prize\n")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "ESCALATE" and doc["failed_closed"] is True
    (row,) = e.store().list(kind="triage")
    assert row.state == "failed" and row.meta["extra"]["failed_closed"] is True


def test_triage_fails_closed_on_a_slow_model(tmp_path: Path, standin: StandinServer) -> None:
    e = make_env(tmp_path, standin.url, triage_timeout=1)
    standin.script(Reply.text("SKIP " * 50, delay=0.2), dialect="ollama")
    out = e.run("triage", stdin="hello\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ESCALATE\n" and "fail" in out.stderr


def test_triage_with_empty_stdin_is_a_usage_error(env: Env) -> None:
    out = env.run("triage", stdin="  \n")
    assert out.returncode == 2 and "nothing to triage" in out.stderr
