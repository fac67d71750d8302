"""What git says about a change, for a review: the diff, stat and log of `base...head`,
split per file and redacted.

Why a module of its own: `laneboard review`, the review ladder, `--pr` (`pull_requests`)
and `commit-msg` all read a change from git the same way, and none of them needs the
prompt, the lane or the artifact code of `lanes.review` to do it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from laneboard.errors import LaneboardError, UsageError

if TYPE_CHECKING:
    from laneboard.artifacts import Redactor


def git(repo: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in `repo` without pagers, colour, external diff drivers or index refreshes.

    `GIT_OPTIONAL_LOCKS=0` keeps read commands from rewriting `.git/index`, so collecting
    the diff does not itself look like a change to the tree.
    """
    env = {**os.environ, "GIT_PAGER": "cat", "PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0",
           "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", "-c", "color.ui=never", *args],
            cwd=str(repo), env=env, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=60, check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (or not on PATH); a review needs it") from None
    except subprocess.TimeoutExpired:
        raise LaneboardError(f"`git {' '.join(args)}` in {repo} took longer than 60s") from None
    out = subprocess.CompletedProcess(
        proc.args, proc.returncode,
        proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
    )
    if check and out.returncode != 0:
        raise LaneboardError(
            f"`git {' '.join(args)}` failed in {repo}: {out.stderr.strip() or out.returncode}"
        )
    return out


def repo_root(cwd: Path | str) -> Path:
    """The top of the git work tree containing `cwd` (UsageError when there is none)."""
    proc = git(cwd, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise UsageError(
            f"{cwd} is not inside a git repository; run `laneboard review` in the "
            "repository whose changes you want reviewed"
        )
    return Path(proc.stdout.strip())


def rev_parse(repo: Path, ref: str) -> str:
    """The commit `ref` names (UsageError with the ref when it names none)."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"{ref!r} is not a git ref")
    proc = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
               check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise UsageError(
            f"unknown git ref {ref!r} in {repo}; check the name (`git branch -a`) or pass "
            "another with --base/--head"
        )
    return proc.stdout.strip()


def default_base(repo: Path, head: str = "HEAD") -> str:
    """The upstream of `head`'s branch, else `main`, else `master` (UsageError if none)."""
    proc = git(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", f"{head}@{{upstream}}",
               check=False)
    upstream = proc.stdout.strip()
    if proc.returncode == 0 and upstream:
        return upstream
    for name in ("main", "master"):
        if git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}",
               check=False).returncode == 0:
            return name
    raise UsageError(
        f"no base to review against in {repo}: the branch has no upstream and there is no "
        "`main` (or `master`) branch; pass --base REF"
    )


@dataclass(frozen=True)
class FileDiff:
    """One file's part of a unified diff (its `diff --git` header included)."""

    path: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


@dataclass
class ReviewInput:
    """What git says about `base...head`, redacted."""

    repo: Path
    base: str
    head: str
    base_sha: str
    head_sha: str
    merge_base: str
    files: list[FileDiff]
    stat: str
    log: str
    redactions: int = 0
    redaction_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.files


_DIFF_HEADER = re.compile(r"^diff --git (?:\"?a/(?P<a>.+?)\"?) (?:\"?b/(?P<b>.+?)\"?)$")


def split_diff(diff: str) -> list[FileDiff]:
    """Split a `git diff` into per-file parts, in order (text before the first header,
    which git never emits, is kept as a part of its own so nothing is lost)."""
    parts: list[FileDiff] = []
    current: list[str] = []
    path = ""
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            if current:
                parts.append(FileDiff(path, "".join(current)))
            current = [line]
            m = _DIFF_HEADER.match(line.rstrip("\n"))
            path = (m.group("b") or m.group("a")) if m else line[len("diff --git "):].strip()
        else:
            current.append(line)
    if current:
        parts.append(FileDiff(path, "".join(current)))
    return parts


def collect(repo: Path, base: str | None, head: str | None,
            redactor: Redactor | None = None) -> ReviewInput:
    """Collect and redact the diff, stat and log of `base...head` in `repo`.

    Refs are checked first so a typo is a usage error naming the ref, not a git failure.
    `redactor=None` leaves the texts as they are (only for `artifacts.redaction: false`).
    """
    head = head or "HEAD"
    head_sha = rev_parse(repo, head)
    if head == "HEAD":  # name the branch in titles and front matter, not "HEAD"
        name = git(repo, "rev-parse", "--abbrev-ref", "HEAD", check=False).stdout.strip()
        head = name if name and name != "HEAD" else head
    base = base or default_base(repo, head)
    base_sha = rev_parse(repo, base)
    mb = git(repo, "merge-base", base_sha, head_sha, check=False)
    if mb.returncode != 0 or not mb.stdout.strip():
        raise UsageError(f"{base!r} and {head!r} share no history in {repo}; nothing to compare")
    merge_base = mb.stdout.strip()
    rng = f"{base_sha}...{head_sha}"
    diff = git(repo, "diff", "--no-ext-diff", "--no-textconv", "--find-renames", rng).stdout
    stat = git(repo, "diff", "--no-ext-diff", "--stat=100", rng).stdout
    commits = git(repo, "log", "--no-color", "--format=%h %s%n%b", "-n", "200",
                  f"{base_sha}..{head_sha}").stdout
    kinds: Counter[str] = Counter()

    def red(text: str) -> str:
        if redactor is None:
            return text
        result = redactor.redact(text)
        kinds.update(result.kinds)
        return result.text

    files = [FileDiff(f.path, red(f.text)) for f in split_diff(diff)]
    return ReviewInput(
        repo=repo, base=base, head=head, base_sha=base_sha, head_sha=head_sha,
        merge_base=merge_base, files=files, stat=red(stat).strip(),
        log=red(_tidy_log(commits)), redactions=sum(kinds.values()),
        redaction_kinds=dict(sorted(kinds.items())),
    )


def _tidy_log(text: str) -> str:
    """Drop the blank lines `%b` leaves after bodiless commits."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    return "\n".join(out).strip()
