"""End to end: `laneboard review --base main` with the REAL `claude` (plan mode, in tmux on a
private socket) against the stand-in Anthropic endpoint.

What it proves: the diff reaches the model, a secret in the diff reaches neither the
model nor the artifact, the artifact has its front matter and the model's answer, and the
working tree is left as it was. Everything runs in temp dirs: its own tmux socket (killed
at the end), its own state dir, its own CLAUDE_CONFIG_DIR.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactStore
from laneboard.harnesses.claude.launch import seed_isolated_config
from laneboard.standins import Reply, StandinServer

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

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
tmux: {{socket: {socket}}}
providers:
  anthropic: {{harness: claude-code, base_url: "{url}"}}
models:
  anthropic/claude-opus-4-5: {{alias: opus, tier: escalation}}
defaults:
  provider: anthropic
  model: {{primary: opus}}
lanes:
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
routing:
  default: review
artifacts: {{dir: "{artifacts}"}}
"""

ANSWER = (
    "[BLOCKER] payments.py:3 - a live API key is committed; load it from the environment\n"
    "[MINOR] payments.py:6 - transfer_funds does not validate the amount\n"
    "\n"
    "Summary: one blocker, one minor issue."
)


def fake_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "sk-ant-api03-" + "".join(secrets.choice(alphabet) for _ in range(40))


@dataclass
class Setup:
    repo: Path
    config: Path
    artifacts: Path
    env: dict[str, str]
    key: str
    socket: str


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def setup(tmp_path: Path, standin: StandinServer) -> Iterator[Setup]:
    assert shutil.which("claude") and shutil.which("tmux"), (
        "needs the pinned `claude` and tmux: run `bash scripts/test.sh`, which installs them")
    key = fake_key()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# payments\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "checkout", "-q", "-b", "feature/transfer")
    (repo / "payments.py").write_text(
        "import os\n\n"
        f'STRIPE_KEY = "{key}"\n\n\n'
        "def transfer_funds(source, target, amount):\n"
        "    return {'from': source, 'to': target, 'amount': amount}\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feat: transfer funds between accounts")

    claude_dir = tmp_path / "claude-config"
    seed_isolated_config(claude_dir, repo)
    socket = f"lb-e2e-{secrets.token_hex(4)}"
    artifacts = tmp_path / "artifacts"
    config = tmp_path / "laneboard.yaml"
    config.write_text(CONFIG.format(socket=socket, url=standin.url, claude_dir=claude_dir,
                                    artifacts=artifacts))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_", "LANEBOARD_", "TMUX"))}
    env.update(GIT_ENV)
    env["LANEBOARD_TMUX_SOCKET"] = socket
    env["LANEBOARD_STATE_DIR"] = str(tmp_path / "state")
    try:
        yield Setup(repo, config, artifacts, env, key, socket)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10,
                       check=False)
        # tmux leaves its socket file behind; it is ours, so remove it too
        (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink(
            missing_ok=True)


def review(s: Setup, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", "review", *args, "--config", str(s.config)],
        cwd=s.repo, env=s.env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_review_with_real_claude_against_the_standin(setup: Setup,
                                                     standin: StandinServer) -> None:
    s = setup
    standin.script(Reply.text(ANSWER, input_tokens=1200, output_tokens=60), dialect="anthropic")
    out = review(s, "--base", "main", "--json", "--timeout", "150")
    assert out.returncode == 0, f"stdout: {out.stdout}\nstderr: {out.stderr}"
    doc = json.loads(out.stdout)
    assert doc["lane"] == "review" and doc["state"] == "done"
    assert doc["findings"] == 2 and doc["elapsed_s"] > 0
    assert doc["model"]

    # the diff reached the endpoint, the key did not
    calls = standin.calls("anthropic")
    assert calls, "claude never called the stand-in"
    prompt = calls[0].prompt or ""
    assert prompt.lstrip().startswith(("Review", "<pasted_content"))
    assert "def transfer_funds(source, target, amount):" in prompt
    assert "feat: transfer funds between accounts" in prompt
    assert "do not edit" in prompt
    assert "[REDACTED:" in prompt
    for call in standin.requests:
        assert s.key.encode() not in call.raw
        assert s.key not in json.dumps(call.headers)

    # the artifact: front matter, the endpoint's answer, no key
    path = Path(doc["artifact"])
    text = path.read_text()
    assert text.startswith("---\n") and s.key not in text
    assert ANSWER.splitlines()[0] in text and ANSWER.splitlines()[1] in text
    assert path.stat().st_mode & 0o777 == 0o600
    store = ArtifactStore(s.artifacts)
    art = store.get(path.name.split("-")[1])
    assert art.kind == "review" and art.lane == "review" and art.harness == "claude-code"
    assert art.state == "done" and art.extra["prompt_redactions"] >= 1
    assert art.git is not None
    assert art.git["base"] == "main" and art.git["tree_unchanged"] is True
    assert art.git["head_sha"] == git(s.repo, "rev-parse", "HEAD").strip()
    assert art.route is not None and art.route["lane"] == "review"
    assert art.extra["findings"] == 2
    assert [a.id for a in store.list(kind="review")] == [art.id]
    store.close()

    # the reviewer left the tree alone
    assert git(s.repo, "status", "--porcelain") == ""
    assert s.key not in out.stdout + out.stderr


def test_nothing_to_review_on_main(setup: Setup, standin: StandinServer) -> None:
    git(setup.repo, "checkout", "-q", "main")
    out = review(setup, "--base", "main", timeout=60)
    assert out.returncode == 0, out.stderr
    assert "nothing to review" in out.stdout
    assert standin.calls() == [] and not setup.artifacts.exists()


def test_bad_ref_and_no_repo_are_usage_errors(setup: Setup, tmp_path: Path) -> None:
    out = review(setup, "--base", "no-such-branch", timeout=60)
    assert out.returncode == 2 and "unknown git ref 'no-such-branch'" in out.stderr
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "laneboard.cli", "review", "--config", str(setup.config)],
        cwd=elsewhere, env=setup.env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2 and "not inside a git repository" in out.stderr


def test_concurrent_reviews_serialise_on_the_lane(setup: Setup, standin: StandinServer) -> None:
    """Two `laneboard review` processes at once: both complete, one after the other, each
    artifact holding the answer to its own prompt (none clobbered the other's input box)."""
    s = setup
    git(s.repo, "checkout", "-q", "-b", "feature/other", "main")
    (s.repo / "ledger.py").write_text("def balance(account):\n    return 0\n")
    git(s.repo, "add", "-A")
    git(s.repo, "commit", "-q", "-m", "feat: ledger balance")
    git(s.repo, "checkout", "-q", "main")

    def answer(request: object) -> Reply:
        prompt = getattr(request, "prompt", "") or ""
        names = [n for n in ("payments.py", "ledger.py") if f"+++ b/{n}" in prompt]
        return Reply.text(f"[MINOR] {'+'.join(names) or 'none'}:1 - reviewed")

    standin.set_default(answer)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "laneboard.cli", "review", "--base", "main", "--head", head,
             "--json", "--timeout", "150", "--config", str(s.config)],
            cwd=s.repo, env=s.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )
        for head in ("feature/transfer", "feature/other")
    ]
    docs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, f"stdout: {stdout}\nstderr: {stderr}"
        docs.append(json.loads(stdout))
    calls = standin.calls("anthropic")
    assert len(calls) == 2
    for doc, own in zip(docs, ("payments.py", "ledger.py"), strict=True):
        text = Path(doc["artifact"]).read_text()
        assert f"[MINOR] {own}:1 - reviewed" in text, text[-400:]
    assert git(s.repo, "status", "--porcelain") == ""
