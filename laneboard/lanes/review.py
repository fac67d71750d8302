"""Escalating a diff to the plan-mode reviewer, and keeping what it said.

One review, in the order that keeps secrets and the working tree safe:

1. **Collect** from git: `git diff base...head` (what the branch changed since it left
   base, not what base did meanwhile), `git diff --stat` of the same range, and the commit
   messages `git log base..head`. The default base is the current branch's upstream
   (`@{upstream}`), else `main` (else `master`). An empty diff is "nothing to review": no
   prompt, no artifact.
2. **Redact** every text that goes into the prompt (`laneboard.artifacts.redact` plus the
   values of the configured API-key variables) *before* it is bounded or sent: a secret
   split by a cut could no longer be recognised, and a secret must never reach a model.
3. **Bound**: each file's diff is cut to `per_file_bytes` (head and tail kept), and files
   beyond `total_bytes` are left out whole; the prompt lists what was cut, so the reviewer
   knows it did not see everything. A review of half a lock file is worth less than a
   review of every source file, so the caps favour breadth.
4. **Compose** a prompt that starts with an ordinary word (Claude Code runs a leading `/`
   or `!` as a command), asks for findings first with a severity and `file:line`, and
   says not to edit files.
5. **Snapshot** the working tree (`harnesses.tree_snapshot`), send through the `Supervisor`
   on the review lane (which takes the lane's file lock, so concurrent reviews from any
   number of processes queue instead of clobbering one prompt box), snapshot again. Plan
   mode is a UI mode, not a sandbox: a changed tree is reported loudly and fails the run.
6. **Count findings** (`count_findings`, rule below) and **store** the artifact (kind
   `review`, git base/head/shas/tree_unchanged, route, usage), even when the lane failed
   or timed out, so every escalation leaves a record.

Findings rule: a line of the answer is one finding when, after optional indentation, a
list marker (`-`, `*`, `+`, `1.`, `1)`) and Markdown emphasis (`**`, `__`), it starts with
a severity word — BLOCKER, CRITICAL, MAJOR, HIGH, MEDIUM, MINOR, LOW, NIT — written in
square brackets (`[MAJOR]`) or followed by a colon (`MAJOR:`). The prompt asks for exactly
the bracketed form, so a compliant answer counts exactly; prose that merely mentions "a
minor issue" does not count. The single line "No findings." means zero.

Why this is long (~400 lines): bounding, the prompt, the findings rule and the one-step
run share one prompt layout and one artifact shape, and each cut or redaction one step
makes is named by the next (the artifact records every cut); keeping them in one module
keeps that contract readable in one place. What other modules share is elsewhere: reading
the change from git (step 1) in `lanes.review_git` (re-exported here, so `review.collect`
and friends keep working), the review's supervisor and snapshot excludes in
`lanes.review_lane`, redaction and the artifact store in `lanes.redaction`, the ladder in
`lanes.review_ladder`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from laneboard.core.route import Route
from laneboard.errors import LaneError, UsageError
from laneboard.lanes.redaction import make_redactor, open_store
from laneboard.lanes.review_git import (
    FileDiff,
    ReviewInput,
    collect,
    default_base,
    git,
    repo_root,
    rev_parse,
    split_diff,
)
from laneboard.lanes.review_lane import SupervisorFactory, default_supervisor, snapshot_excludes

if TYPE_CHECKING:
    from laneboard.artifacts import Artifact, ArtifactStore
    from laneboard.config import Config, LoadedConfig
    from laneboard.harnesses.base import TurnResult

log = logging.getLogger(__name__)

__all__ = [
    "NOTHING_TO_REVIEW", "PROMPT_SEVERITIES", "SEVERITIES", "BoundedDiff", "FileDiff",
    "ReviewInput", "ReviewResult", "SupervisorFactory", "bound_diff", "collect",
    "compose_prompt", "count_findings", "default_base", "default_supervisor", "git",
    "parse_findings", "pick_review_lane", "repo_root", "rev_parse", "run_review",
    "snapshot_excludes", "split_diff",
]

#: Severity words, most severe first; the prompt asks for the first four.
SEVERITIES: tuple[str, ...] = (
    "BLOCKER", "CRITICAL", "MAJOR", "HIGH", "MEDIUM", "MINOR", "LOW", "NIT",
)
PROMPT_SEVERITIES: tuple[str, ...] = ("BLOCKER", "MAJOR", "MINOR", "NIT")
DEFAULT_PER_FILE_BYTES = 16_000
DEFAULT_TOTAL_BYTES = 120_000
DEFAULT_LOG_BYTES = 8_000
DEFAULT_STAT_BYTES = 8_000
DEFAULT_TIMEOUT_S = 900.0
NOTHING_TO_REVIEW = "nothing-to-review"

_FINDING = re.compile(
    r"^\s*(?:(?:[-*+]|\d{1,3}[.)])\s+)?(?:\*\*|__)?\s*"
    r"(?:\[(?P<bracketed>" + "|".join(SEVERITIES) + r")\]"
    r"|(?P<colon>" + "|".join(SEVERITIES) + r")(?:\*\*|__)?\s*:)",
    re.IGNORECASE,
)



# ---------------------------------------------------------------------------- bounding


@dataclass(frozen=True)
class BoundedDiff:
    """The diff text to send, and one line per cut saying what the reviewer did not see."""

    text: str
    cuts: list[str]
    files_shown: int
    files_total: int
    bytes_total: int

    @property
    def truncated(self) -> bool:
        return bool(self.cuts)


def bound_diff(files: list[FileDiff], *, per_file_bytes: int = DEFAULT_PER_FILE_BYTES,
               total_bytes: int = DEFAULT_TOTAL_BYTES) -> BoundedDiff:
    """Cap each file at `per_file_bytes` (head and tail kept) and the whole at `total_bytes`.

    Files are taken in diff order; once the next file would pass the total it is left out
    whole (named in `cuts`) rather than shown as a stub, and later, smaller files may still
    fit. Each cut file's text says in place how much was omitted.
    """
    from laneboard.artifacts import bound

    chunks: list[str] = []
    cuts: list[str] = []
    omitted: list[FileDiff] = []
    used = 0
    shown = 0
    for f in files:
        text, cut = bound(f.text, per_file_bytes, f"diff of {f.path}")
        size = len(text.encode("utf-8"))
        if used + size > total_bytes:
            omitted.append(f)
            continue
        if cut:
            cuts.append(f"{f.path}: cut to about {per_file_bytes:,} of {f.size:,} bytes")
        if not text.endswith("\n"):
            text += "\n"
        chunks.append(text)
        used += size
        shown += 1
    if omitted:
        names = ", ".join(f.path for f in omitted[:20]) + (" …" if len(omitted) > 20 else "")
        cuts.append(
            f"{len(omitted)} file(s) left out, {sum(f.size for f in omitted):,} bytes, to stay "
            f"within {total_bytes:,} bytes: {names}"
        )
    return BoundedDiff("".join(chunks), cuts, shown, len(files), sum(f.size for f in files))


# ---------------------------------------------------------------------------- prompt


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def compose_prompt(ri: ReviewInput, bounded: BoundedDiff, *,
                   log_bytes: int = DEFAULT_LOG_BYTES,
                   stat_bytes: int = DEFAULT_STAT_BYTES) -> str:
    """The review prompt: instructions and answer format first, then commits, stat, diff.

    It starts with the word "Review" on purpose (Claude Code would run a leading `/` or `!`
    as a command), and ends with a reminder of the format because long inputs make models
    forget instructions given only at the top.
    """
    from laneboard.artifacts import bound

    sev = ", ".join(PROMPT_SEVERITIES)
    commits, _ = bound(ri.log or "(no commit messages)", log_bytes, "commit log")
    stat, _ = bound(ri.stat or "(no stat)", stat_bytes, "diff stat")
    cut_lines = "\n".join(f"- {c}" for c in bounded.cuts)
    cut_note = (
        f"\nParts of the diff were cut to bound this prompt; you did not see them:\n{cut_lines}\n"
        "Say so where a finding may depend on what was cut.\n" if bounded.cuts else ""
    )
    fence = _fence(bounded.text)
    return (
        f"Review this change as a careful senior reviewer. This is a read-only review: do "
        f"not edit, create or delete files and do not run commands that change anything; "
        f"you may read files in the repository for context.\n"
        f"\n"
        f"Repository: {ri.repo.name}. Base {ri.base} ({ri.base_sha[:12]}), head {ri.head} "
        f"({ri.head_sha[:12]}); {bounded.files_total} file(s) changed.\n"
        f"\n"
        f"Answer with the findings first, most severe first, one finding per line:\n"
        f"[SEVERITY] path/to/file:LINE - what is wrong, why it matters, and the fix\n"
        f"SEVERITY is one of {sev}; LINE is the line number in the new version of the "
        f"file. If there is nothing to report, write the single line: No findings.\n"
        f"After the findings, add at most five lines of overall summary.\n"
        f"{cut_note}"
        f"\n"
        f"## Commits (base..head)\n\n{commits}\n"
        f"\n"
        f"## Diff stat\n\n{stat}\n"
        f"\n"
        f"## Diff (base...head)\n\n{fence}diff\n{bounded.text}{fence}\n"
        f"\n"
        f"Reminder: findings first, one per line as [SEVERITY] file:LINE - issue; "
        f"do not edit files.\n"
    )


# ---------------------------------------------------------------------------- findings


def parse_findings(answer: str) -> Counter[str]:
    """Findings per severity (upper-case), by the rule in the module docstring."""
    counts: Counter[str] = Counter()
    for line in answer.splitlines():
        m = _FINDING.match(line)
        if m is not None:
            counts[(m.group("bracketed") or m.group("colon")).upper()] += 1
    return counts


def count_findings(answer: str) -> int:
    """How many findings `answer` reports (see the module docstring for the rule)."""
    return sum(parse_findings(answer).values())


# ---------------------------------------------------------------------------- running


def pick_review_lane(cfg: Config, lane: str | None) -> str:
    """`lane` if given, else the first lane with role reviewer; it must not be writable.

    A review asks for judgment without edits: sending it to a workspace-write or full
    lane would hand an escalation-tier model write access for a read-only task.
    """
    from laneboard.config import WRITABLE_FENCES

    if lane is None:
        lane = next((lid for lid, lc in cfg.lanes.items() if lc.role == "reviewer"), None)
        if lane is None:
            raise UsageError(
                "no lane with role reviewer in the config; add one (see the shipped "
                "config's `review` lane) or pass --lane"
            )
    elif lane not in cfg.lanes:
        raise UsageError(f"no lane named {lane!r} (lanes: {', '.join(cfg.lanes)})")
    fence = cfg.lanes[lane].fence
    if fence in WRITABLE_FENCES:
        raise UsageError(
            f"lane {lane!r} has fence {fence}; a review runs only on a plan or read-only "
            "lane (the reviewer must not be able to edit what it reviews)"
        )
    return lane


@dataclass
class ReviewResult:
    """The outcome of one `run_review`; `as_json` is the `--json` document."""

    lane: str
    state: str
    base: str = ""
    head: str = ""
    model: str | None = None
    findings: int = 0
    severities: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    artifact: Artifact | None = None
    tree_unchanged: bool | None = None
    tree_changes: list[str] = field(default_factory=list)
    error: str | None = None
    reply: str = ""
    cuts: list[str] = field(default_factory=list)

    @property
    def nothing_to_review(self) -> bool:
        return self.state == NOTHING_TO_REVIEW

    @property
    def ok(self) -> bool:
        """Completed and the tree is as it was (the exit-0 condition)."""
        return self.nothing_to_review or (self.state == "done" and self.tree_unchanged is True)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_json(self) -> dict[str, Any]:
        return {
            "artifact": str(self.artifact.path) if self.artifact else None,
            "lane": self.lane,
            "model": self.model,
            "state": self.state,
            "findings": self.findings,
            "elapsed_s": round(self.elapsed_s, 3),
        }


async def run_review(
    loaded: LoadedConfig,
    *,
    cwd: Path | None = None,
    base: str | None = None,
    head: str | None = None,
    lane: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    per_file_bytes: int = DEFAULT_PER_FILE_BYTES,
    total_bytes: int = DEFAULT_TOTAL_BYTES,
    store: ArtifactStore | None = None,
    supervisor_factory: SupervisorFactory | None = None,
) -> ReviewResult:
    """Run one review end to end (see the module docstring); never raises for a lane
    failure (that is a result with an artifact), raises UsageError for bad input."""
    cfg = loaded.config
    clock = time.monotonic()
    lane_id = pick_review_lane(cfg, lane)
    repo = repo_root(cwd or Path.cwd())
    redactor = make_redactor(cfg) if cfg.artifacts.redaction else None
    ri = collect(repo, base, head, redactor)
    if ri.empty:
        return ReviewResult(lane=lane_id, state=NOTHING_TO_REVIEW, base=ri.base, head=ri.head,
                            elapsed_s=time.monotonic() - clock)
    bounded = bound_diff(ri.files, per_file_bytes=per_file_bytes, total_bytes=total_bytes)
    prompt = compose_prompt(ri, bounded)
    if redactor is not None:  # the prompt's own text (repo and ref names) is checked too
        prompt = redactor.redact(prompt).text

    own_store = store is None
    store = store or open_store(cfg, cwd)
    try:
        return await _review_on_lane(loaded, ri, bounded, prompt, lane_id, repo, store,
                                     explicit_lane=lane is not None, timeout_s=timeout_s,
                                     clock=clock, supervisor_factory=supervisor_factory)
    finally:
        if own_store:
            store.close()


async def _review_on_lane(
    loaded: LoadedConfig, ri: ReviewInput, bounded: BoundedDiff, prompt: str, lane_id: str,
    repo: Path, store: ArtifactStore, *, explicit_lane: bool, timeout_s: float, clock: float,
    supervisor_factory: SupervisorFactory | None,
) -> ReviewResult:
    """Snapshot, send, snapshot, count, store: the part of a review that needs the lane."""
    from laneboard.artifacts import ArtifactRecord
    from laneboard.harnesses.tree_snapshot import snapshot

    cfg = loaded.config
    lane_cfg = cfg.lanes[lane_id]
    route = Route(lane_id, "laneboard review",
                  "explicit review escalation (--lane)" if explicit_lane else
                  "review escalation to the first reviewer lane",
                  lane_cfg.fence, escalate=True).as_dict()
    excludes = snapshot_excludes(repo, cfg, lane_id, store.root)
    before = snapshot(repo, exclude=excludes)
    started = time.time()
    sup = (supervisor_factory or default_supervisor)(loaded, repo)
    turn: TurnResult | None = None
    failure: str | None = None
    try:
        turn = await sup.send(lane_id, prompt, timeout=timeout_s, route=route,
                              lock_timeout=timeout_s)
    except LaneError as e:
        failure = str(e)
    finally:
        await sup.close()
    changes = snapshot(repo, exclude=excludes).changes_since(before)
    unchanged = not changes
    if changes:
        log.warning("review lane changed the working tree",
                    extra={"lane": lane_id, "changes": changes[:20]})

    state = turn.state if turn is not None else "failed"
    reply = turn.reply if turn is not None else ""
    error = turn.error if turn is not None else failure
    severities = parse_findings(reply)
    git_info = {"base": ri.base, "head": ri.head, "base_sha": ri.base_sha,
                "head_sha": ri.head_sha, "merge_base": ri.merge_base,
                "tree_unchanged": unchanged, "tree_changes": changes[:50]}
    extra = {"findings": sum(severities.values()), "severities": dict(severities),
             "files": bounded.files_total, "files_shown": bounded.files_shown,
             "diff_bytes": bounded.bytes_total, "cuts": bounded.cuts,
             "prompt_redactions": ri.redactions,
             "prompt_redaction_kinds": ri.redaction_kinds}
    title = f"{ri.head} vs {ri.base}"
    if turn is not None:
        record = ArtifactRecord.from_turn(
            turn, kind="review", lane=lane_id, prompt=prompt, harness=lane_cfg.harness,
            route=route, git=git_info, title=title, extra=extra)
    else:
        record = ArtifactRecord(
            kind="review", lane=lane_id, prompt=prompt, answer="", harness=lane_cfg.harness,
            state="failed", route=route,
            started=started, git=git_info, error=error, title=title, extra=extra)
    artifact = await store.write(record)
    return ReviewResult(
        lane=lane_id, state=state, base=ri.base, head=ri.head,
        model=(turn.model if turn is not None else None),
        findings=sum(severities.values()), severities=dict(severities),
        elapsed_s=time.monotonic() - clock, artifact=artifact, tree_unchanged=unchanged,
        tree_changes=changes, error=error, reply=reply, cuts=bounded.cuts,
    )
