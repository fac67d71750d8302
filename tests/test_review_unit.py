"""`laneboard.lanes.review` without a real agent: git collection, redaction, bounding, the
prompt, the findings rule, the tree check and the artifact, with a fake supervisor."""

from __future__ import annotations

import asyncio
import os
import secrets
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest

from laneboard.artifacts import Redactor
from laneboard.errors import LaneError, UsageError
from laneboard.harnesses.base import TurnResult, Usage
from laneboard.lanes import review as rv
from laneboard.lanes.loading import load_file

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def fake_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "sk-ant-api03-" + "".join(secrets.choice(alphabet) for _ in range(40))


def sh(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV},
                         capture_output=True, text=True, check=True)
    return out.stdout


def make_repo(root: Path, files: dict[str, str], *, branch: str = "feature") -> Path:
    """A repo with one commit on main and one on `branch` (checked out) changing `files`."""
    repo = root / "repo"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", "initial")
    sh(repo, "checkout", "-q", "-b", branch)
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if files:
        sh(repo, "add", "-A")
        sh(repo, "commit", "-q", "-m", "feat: add the files\n\nA body line.")
    return repo


CONFIG = """\
version: 1
providers:
  anthropic: {{harness: claude-code}}
  ollama: {{harness: ollama, base_url: "http://127.0.0.1:9"}}
models:
  anthropic/claude-opus-4-5: {{alias: opus, tier: escalation}}
  ollama/qwen3:7b: {{alias: triage, tier: local}}
defaults:
  provider: anthropic
  model: {{primary: opus}}
lanes:
  review: {{role: reviewer, harness: claude-code, model: opus, fallbacks: [], fence: plan}}
  writer: {{role: reviewer, harness: claude-code, model: opus, fence: workspace-write}}
  triage: {{role: helper, harness: ollama, model: triage, fence: read-only}}
routing:
  default: review
artifacts: {{dir: "{artifacts}"}}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> Any:
    path = tmp_path / "laneboard.yaml"
    path.write_text(CONFIG.format(artifacts=tmp_path / "artifacts"))
    return load_file(str(path))


class FakeSupervisor:
    """Stands in for `Supervisor`: records the prompt, answers, optionally edits the tree."""

    def __init__(self, reply: str = "", *, state: str = "done", touch: Path | None = None,
                 raises: Exception | None = None) -> None:
        self.reply, self.state, self.touch, self.raises = reply, state, touch, raises
        self.prompts: list[str] = []
        self.closed = False

    def factory(self, loaded: Any, workspace: Path) -> FakeSupervisor:
        self.workspace = workspace
        return self

    async def send(self, lane: str, prompt: str, **kw: Any) -> TurnResult:
        self.prompts.append(prompt)
        self.kw = kw
        if self.touch is not None:
            self.touch.write_text("changed by the reviewer\n")
        if self.raises is not None:
            raise self.raises
        return TurnResult(reply=self.reply, state=self.state,  # type: ignore[arg-type]
                          usage=Usage(10, 5), model="anthropic/claude-opus-4-5",
                          error=None if self.state == "done" else "it broke")

    async def close(self) -> None:
        self.closed = True


# ---------------------------------------------------------------------------- findings

@pytest.mark.parametrize(
    ("line", "severity"),
    [
        ("[MAJOR] src/app.py:12 - unchecked input", "MAJOR"),
        ("- [blocker] a.py:1 - x", "BLOCKER"),
        ("* **[MINOR]** a.py:3 - y", "MINOR"),
        ("1. [NIT] a.py:4 - z", "NIT"),
        ("2) MAJOR: a.py:5 - colon form", "MAJOR"),
        ("**HIGH**: a.py:6 - bold colon form", "HIGH"),
        ("   [critical] indented", "CRITICAL"),
        ("[LOW] a.py:7", "LOW"),
        ("MEDIUM: a.py:8", "MEDIUM"),
    ],
)
def test_finding_lines_count(line: str, severity: str) -> None:
    assert rv.parse_findings(line) == {severity: 1}


@pytest.mark.parametrize(
    "line",
    [
        "No findings.",
        "There is a minor issue in a.py:3.",
        "Major refactor needed overall",
        "[MAJORITY] not a severity",
        "MAJOR without a colon a.py:1",
        "Summary: the change looks fine.",
        "",
    ],
)
def test_non_finding_lines_do_not_count(line: str) -> None:
    assert rv.count_findings(line) == 0


def test_findings_counted_across_an_answer() -> None:
    answer = (
        "[BLOCKER] a.py:1 - leaks the key\n[MINOR] b.py:2 - naming\n- [MINOR] c.py:3 - typo\n"
        "\nSummary: two minor things and one blocker.\n"
    )
    assert rv.parse_findings(answer) == {"BLOCKER": 1, "MINOR": 2}
    assert rv.count_findings(answer) == 3


# ---------------------------------------------------------------------------- bounding

def _file(path: str, lines: int, width: int = 40) -> rv.FileDiff:
    body = "".join(f"+{'x' * width} {i}\n" for i in range(lines))
    return rv.FileDiff(path, f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{body}")


def test_split_diff_keeps_every_byte_and_names_files() -> None:
    diff = _file("a.py", 3).text + _file("dir/b c.py", 2).text
    parts = rv.split_diff(diff)
    assert [p.path for p in parts] == ["a.py", "dir/b c.py"]
    assert "".join(p.text for p in parts) == diff


def test_small_diff_is_not_cut() -> None:
    files = [_file("a.py", 5), _file("b.py", 5)]
    b = rv.bound_diff(files, per_file_bytes=10_000, total_bytes=100_000)
    assert not b.truncated and b.cuts == []
    assert b.text == "".join(f.text for f in files)
    assert (b.files_shown, b.files_total) == (2, 2)


def test_per_file_cap_keeps_head_and_tail_and_says_so() -> None:
    big = _file("big.py", 500)
    b = rv.bound_diff([big, _file("small.py", 3)], per_file_bytes=2_000, total_bytes=100_000)
    assert "diff --git a/big.py" in b.text and "+" + "x" * 40 + " 499" in b.text
    assert "+" + "x" * 40 + " 250\n" not in b.text
    assert "diff of big.py cut" in b.text
    assert any(c.startswith("big.py: cut") for c in b.cuts)
    assert "diff --git a/small.py" in b.text
    assert len(b.text.encode()) < 2_000 + 1_000


def test_total_cap_leaves_whole_files_out_and_names_them() -> None:
    files = [_file(f"f{i}.py", 40) for i in range(10)]  # ~2 KB each
    b = rv.bound_diff(files, per_file_bytes=50_000, total_bytes=7_000)
    assert b.files_shown == 3 and b.files_total == 10
    assert len(b.text.encode()) <= 7_000
    assert "7 file(s) left out" in b.cuts[-1] and "f9.py" in b.cuts[-1]
    assert "f3.py" not in b.text


def test_a_later_small_file_still_fits_after_a_big_one_is_left_out() -> None:
    files = [_file("a.py", 10), _file("huge.py", 400), _file("z.py", 2)]
    b = rv.bound_diff(files, per_file_bytes=10_000, total_bytes=3_000)
    assert "a.py" in b.text and "z.py" in b.text and "huge.py" not in b.text
    assert b.cuts == [b.cuts[-1]] and "huge.py" in b.cuts[-1]  # left out, not also "cut"


# ---------------------------------------------------------------------------- prompt

def _input(files: list[rv.FileDiff]) -> rv.ReviewInput:
    return rv.ReviewInput(repo=Path("/x/proj"), base="main", head="feature", base_sha="a" * 40,
                          head_sha="b" * 40, merge_base="a" * 40, files=files,
                          stat=" a.py | 3 +++", log="abc1234 feat: a thing")


def test_prompt_shape() -> None:
    files = [_file("a.py", 3)]
    p = rv.compose_prompt(_input(files), rv.bound_diff(files))
    assert p[0].isalpha() and not p.lstrip().startswith(("/", "!"))
    head = p[: p.index("## Commits")]
    assert "do not edit" in head
    assert "findings first" in head.lower()
    assert "[SEVERITY] path/to/file:LINE" in head
    for sev in rv.PROMPT_SEVERITIES:
        assert sev in head
    assert "No findings." in head
    assert "abc1234 feat: a thing" in p and "a.py | 3" in p
    assert "```diff\ndiff --git a/a.py" in p
    assert p.rstrip().endswith("do not edit files.")
    assert "cut to bound this prompt" not in p


def test_prompt_lists_cuts_and_survives_fences_in_the_diff() -> None:
    fenced = rv.FileDiff("doc.md", "diff --git a/doc.md b/doc.md\n+````python\n+x\n+````\n")
    files = [fenced, _file("big.py", 600)]
    b = rv.bound_diff(files, per_file_bytes=2_000)
    p = rv.compose_prompt(_input(files), b)
    assert "cut to bound this prompt" in p and "big.py: cut" in p
    assert "`````diff\n" in p  # a longer fence than any inside the diff


# ---------------------------------------------------------------------------- git

def test_collect_defaults_to_main_and_redacts(tmp_path: Path) -> None:
    key = fake_key()
    repo = make_repo(tmp_path, {"app.py": f'API_KEY = "{key}"\nprint("hi")\n'})
    ri = rv.collect(repo, None, None, Redactor())
    assert ri.base == "main" and ri.head == "feature"
    assert [f.path for f in ri.files] == ["app.py"]
    text = "".join(f.text for f in ri.files)
    assert key not in text and "[REDACTED:" in text
    assert ri.redactions >= 1
    assert "feat: add the files" in ri.log and "A body line." in ri.log
    assert "app.py" in ri.stat


def test_collect_prefers_the_upstream(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    sh(repo, "branch", "-q", "base-here", "main")
    sh(repo, "branch", "-q", "--set-upstream-to=base-here")
    assert rv.default_base(repo) == "base-here"


def test_three_dot_diff_ignores_what_base_did_meanwhile(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"feature.py": "f = 1\n"})
    sh(repo, "checkout", "-q", "main")
    (repo / "mainline.py").write_text("m = 1\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", "main moved on")
    sh(repo, "checkout", "-q", "feature")
    ri = rv.collect(repo, "main", None)
    assert [f.path for f in ri.files] == ["feature.py"]


def test_bad_ref_and_not_a_repo_are_usage_errors(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.py": "x\n"})
    with pytest.raises(UsageError, match="unknown git ref 'nope'"):
        rv.collect(repo, "nope", None)
    with pytest.raises(UsageError, match="is not a git ref"):
        rv.collect(repo, "--exec=evil", None)
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        rv.repo_root(plain)


def test_no_main_and_no_upstream_is_a_usage_error(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "trunk")
    (repo / "a").write_text("a\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", "a")
    with pytest.raises(UsageError, match="pass --base"):
        rv.default_base(repo)


# ---------------------------------------------------------------------------- lanes

def test_review_lane_choice(loaded: Any) -> None:
    cfg = loaded.config
    assert rv.pick_review_lane(cfg, None) == "review"
    with pytest.raises(UsageError, match="no lane named 'nope'"):
        rv.pick_review_lane(cfg, "nope")
    with pytest.raises(UsageError, match="fence workspace-write"):
        rv.pick_review_lane(cfg, "writer")


# ---------------------------------------------------------------------------- run_review

def test_empty_diff_is_nothing_to_review(tmp_path: Path, loaded: Any) -> None:
    repo = make_repo(tmp_path, {})
    fake = FakeSupervisor("unused")
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory))
    assert result.nothing_to_review and result.exit_code == 0 and result.artifact is None
    assert fake.prompts == []
    assert not (tmp_path / "artifacts").exists()
    assert result.as_json()["artifact"] is None


def test_review_writes_an_artifact_without_the_secret(tmp_path: Path, loaded: Any) -> None:
    key = fake_key()
    repo = make_repo(tmp_path, {"app.py": f'TOKEN = "{key}"\n', "lib/util.py": "def f():\n    return 1\n"})
    answer = "[MAJOR] app.py:1 - a hard-coded credential\n[NIT] lib/util.py:2 - name\n\nSummary: ok."
    fake = FakeSupervisor(answer)
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory, timeout_s=30))
    assert result.state == "done" and result.exit_code == 0
    assert result.findings == 2 and result.severities == {"MAJOR": 1, "NIT": 1}
    assert fake.closed and fake.workspace == repo.resolve()
    assert fake.kw["timeout"] == 30 and fake.kw["route"]["lane"] == "review"
    (prompt,) = fake.prompts
    assert key not in prompt and "[REDACTED:" in prompt and "lib/util.py" in prompt
    art = result.artifact
    assert art is not None and art.kind == "review" and art.lane == "review"
    text = art.path.read_text()
    assert key not in text
    assert answer.splitlines()[0] in text
    assert art.git is not None
    assert art.git["base"] == "main" and art.git["tree_unchanged"] is True
    assert art.git["head_sha"] == sh(repo, "rev-parse", "HEAD").strip()
    assert art.extra["findings"] == 2
    assert art.usage is not None and art.usage["input_tokens"] == 10
    assert art.route is not None and art.route["escalate"] is True
    assert "escalates" not in art.route  # the one spelling: core.route.Route
    doc = result.as_json()
    assert set(doc) == {"artifact", "lane", "model", "state", "findings", "elapsed_s"}
    assert doc["artifact"] == str(art.path)
    assert sh(repo, "status", "--porcelain") == ""


def test_a_changed_tree_fails_the_review_loudly(tmp_path: Path, loaded: Any) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    fake = FakeSupervisor("No findings.", touch=repo / "a.py")
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory))
    assert result.state == "done" and result.tree_unchanged is False
    assert result.exit_code == 1
    assert any(c.endswith("a.py") for c in result.tree_changes)
    assert result.artifact is not None and result.artifact.git is not None
    assert result.artifact.git["tree_unchanged"] is False


@pytest.mark.parametrize("state", ["failed", "timed-out"])
def test_a_failed_turn_still_leaves_an_artifact(tmp_path: Path, loaded: Any, state: str) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    fake = FakeSupervisor("", state=state)
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory))
    assert result.exit_code == 1 and result.state == state
    assert result.artifact is not None and result.artifact.state == state
    assert result.artifact.error == "it broke"


def test_a_lane_that_cannot_start_leaves_a_failed_artifact(tmp_path: Path, loaded: Any) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    fake = FakeSupervisor(raises=LaneError("lane 'review' could not start: no claude"))
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory))
    assert result.exit_code == 1 and result.state == "failed"
    assert result.artifact is not None and "could not start" in (result.artifact.error or "")
    assert fake.closed


def test_artifacts_inside_the_repo_do_not_count_as_a_tree_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(CONFIG.format(artifacts=repo / "artifacts"))
    loaded = load_file(str(cfg_path))

    class Writer(FakeSupervisor):
        async def send(self, lane: str, prompt: str, **kw: Any) -> TurnResult:
            # a concurrent review storing its artifact meanwhile
            d = repo / "artifacts" / "2026-01-01"
            d.mkdir(parents=True, exist_ok=True)
            (d / "x.md").write_text("x")
            return await super().send(lane, prompt, **kw)

    fake = Writer("No findings.")
    result = asyncio.run(rv.run_review(loaded, cwd=repo, base="main",
                                       supervisor_factory=fake.factory))
    assert result.tree_unchanged is True and result.exit_code == 0


def test_known_secret_values_are_redacted_by_value(tmp_path: Path, loaded: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    odd = "plainlookingvalue-0000-not-a-pattern"
    monkeypatch.setenv("ANTHROPIC_API_KEY", odd)
    repo = make_repo(tmp_path, {"notes.txt": f"the value is {odd}\n"})
    fake = FakeSupervisor("No findings.")
    asyncio.run(rv.run_review(loaded, cwd=repo, base="main", supervisor_factory=fake.factory))
    assert odd not in fake.prompts[0] and "[REDACTED:known-secret:" in fake.prompts[0]
