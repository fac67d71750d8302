"""`laneboard commit-msg`: a Conventional Commits message for the staged diff, written
by the local helper lane.

A cheap local model in a read-only lane is the design's sweet spot; the answer is
kept as an artifact, so what the helper said can be looked up later like a review.

The staged diff (`git diff --cached`), redacted and bounded, goes to the local
commit-message lane, which must answer with a Conventional Commits message. The lane
is chosen by this rule, first match wins:

1. the lane of the routing rule named `commit-message` (the shipped config has one);
2. the lane named `commit`;
3. otherwise there is none and the command says how to add one (exit 2).

The chosen lane must not be writable: a cheap model with write access is the trap.
The answer is cleaned (reasoning blocks such as `<think>…</think>`, code fences and a
leading "Commit message:" label removed) and printed. `--apply` commits with it:
`git commit -e -m MSG` when stdin and stdout are a terminal, so the message opens
prefilled in the editor; otherwise `git commit -m MSG`, because `-e` would start an
editor with no terminal to show it on.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TYPE_CHECKING

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, run

if TYPE_CHECKING:
    from laneboard.config import Config, LoadedConfig
    from laneboard.harnesses.base import TurnResult

COMMIT_RULE = "commit-message"
COMMIT_LANE = "commit"
COMMIT_PER_FILE_BYTES = 6_000
COMMIT_TOTAL_BYTES = 24_000
"""Local models have small context windows (32k tokens in the shipped config)."""

CONVENTIONAL = re.compile(
    r"^(feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)(\([^()\n]+\))?!?: \S"
)
_THINK = re.compile(r"<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_FENCED = re.compile(r"^\s*```[\w-]*\n(?P<body>.*?)\n```\s*$", re.DOTALL)
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:suggested\s+)?commit message(?:\*\*)?\s*:\s*\n?",
                    re.IGNORECASE)



def pick_commit_lane(cfg: Config) -> tuple[str, str]:
    """(lane, why) by the rule in the module docstring; UsageError when there is none."""
    from laneboard.config import WRITABLE_FENCES
    from laneboard.errors import UsageError

    lane: str | None = None
    why = ""
    rules = cfg.routing.rules if cfg.routing else []
    rule = next((r for r in rules if r.name == COMMIT_RULE), None)
    if rule is not None and rule.lane in cfg.lanes:
        lane, why = rule.lane, f"routing rule {COMMIT_RULE!r}"
    elif COMMIT_LANE in cfg.lanes:
        lane, why = COMMIT_LANE, f"the lane named {COMMIT_LANE!r}"
    if lane is None:
        raise UsageError(
            f"no commit-message lane: add a routing rule named {COMMIT_RULE!r} or a lane "
            f"named {COMMIT_LANE!r} (a local helper, fence read-only), as in the shipped config"
        )
    fence = cfg.lanes[lane].fence
    if fence in WRITABLE_FENCES:
        raise UsageError(
            f"the commit-message lane {lane!r} has fence {fence}; it only proposes text, "
            "so give it fence read-only"
        )
    return lane, why


def commit_prompt(stat: str, diff: str, cuts: list[str]) -> str:
    """The instruction for the local model: output only the message, in a fixed shape."""
    cut_note = ("\nParts of the diff were cut to fit: " + "; ".join(cuts) + "\n") if cuts else ""
    return (
        "Write a git commit message for the staged change below, following Conventional "
        "Commits.\n"
        "Output only the message, no preamble, no code fences:\n"
        "- first line: type(optional scope): summary, imperative mood, at most 72 "
        "characters; type is one of feat, fix, docs, style, refactor, perf, test, build, "
        "ci, chore, revert;\n"
        "- then a blank line and a short body (wrapped at 72 characters) saying what "
        "changed and why, only if the summary is not enough.\n"
        f"{cut_note}\n"
        f"Files changed:\n{stat}\n\n"
        f"Diff:\n{diff}"
    )


def clean_message(reply: str) -> str:
    """The commit message in a model's reply (see the module docstring)."""
    text = _THINK.sub("", reply).strip()
    m = _FENCED.match(text)
    if m is not None:
        text = m.group("body").strip()
    text = _LABEL.sub("", text, count=1).strip()
    lines = [ln.rstrip() for ln in text.splitlines()]
    if lines and len(lines[0]) > 1 and lines[0][0] == lines[0][-1] and lines[0][0] in "\"'`":
        lines[0] = lines[0][1:-1]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines).strip()


def is_conventional(message: str) -> bool:
    first = message.splitlines()[0] if message else ""
    return bool(CONVENTIONAL.match(first))


async def _send_helper(loaded: LoadedConfig, lane: str, prompt: str, timeout_s: float,
                       route: dict[str, object]) -> TurnResult:
    """One turn on a helper lane; a lane that cannot start is a failed turn (an artifact
    still records it), not an exception."""
    from laneboard.errors import LaneError
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.supervisor import Supervisor

    sup = Supervisor(loaded)
    started = time.time()
    try:
        return await sup.send(lane, prompt, timeout=timeout_s, route=route)
    except LaneError as e:
        return TurnResult(reply="", state="failed", error=str(e), started=started)
    finally:
        await sup.close()


@click.command(name="commit-msg")
@click.option("--apply", "apply_", is_flag=True,
              help="Commit with the message (`git commit -e` on a terminal, else `-m`).")
@click.option("--timeout", type=click.FloatRange(min=1.0), default=120.0, show_default=True,
              help="Seconds to wait for the model.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def commit_msg(apply_: bool, timeout: float, as_json: bool, config_path: str | None) -> None:
    """Write a Conventional Commits message for the staged diff on the local helper lane."""
    import subprocess
    from pathlib import Path

    from laneboard.artifacts import ArtifactRecord
    from laneboard.core.route import Route
    from laneboard.errors import UsageError
    from laneboard.lanes.redaction import make_redactor, open_store
    from laneboard.lanes.review import bound_diff, git, repo_root
    from laneboard.lanes.review import split_diff as split

    loaded = load_config_for(config_path)
    cfg = loaded.config
    lane, why = pick_commit_lane(cfg)
    repo = repo_root(Path.cwd())
    diff = git(repo, "diff", "--cached", "--no-ext-diff", "--no-textconv", "--find-renames").stdout
    if not diff.strip():
        raise UsageError("nothing is staged; `git add` the changes to describe first")
    stat = git(repo, "diff", "--cached", "--no-ext-diff", "--stat=80").stdout.strip()
    redactor = make_redactor(cfg) if cfg.artifacts.redaction else None
    if redactor is not None:
        diff, stat = redactor.redact(diff).text, redactor.redact(stat).text
    bounded = bound_diff(split(diff), per_file_bytes=COMMIT_PER_FILE_BYTES,
                         total_bytes=COMMIT_TOTAL_BYTES)
    prompt = commit_prompt(stat, bounded.text, bounded.cuts)
    route: dict[str, object] = Route(lane, COMMIT_RULE, f"chosen by {why}",
                                     cfg.lanes[lane].fence).as_dict()
    clock = time.monotonic()
    result = run(_send_helper(loaded, lane, prompt, timeout, route))
    message = clean_message(result.reply) if result.state == "done" else ""
    store = open_store(cfg)
    try:
        artifact = store.write_sync(ArtifactRecord.from_turn(
            result, kind="commit-message", lane=lane, prompt=prompt,
            harness=cfg.lanes[lane].harness, route=route, title="commit message",
            extra={"message": message, "conventional": is_conventional(message),
                   "applied": False}))
    finally:
        store.close()
    failed = result.state != "done" or not message
    error = result.error or ("the model answered with no message" if failed else None)
    if as_json:
        emit_json({"message": message or None, "lane": lane, "model": result.model,
                   "state": result.state if not failed else "failed", "error": error,
                   "conventional": is_conventional(message), "artifact": str(artifact.path),
                   "elapsed_s": round(time.monotonic() - clock, 3)})
    elif not failed:
        click.echo(message)
    if failed:
        click.echo(f"laneboard: commit-msg lane {lane}: {error}", err=True)
        raise SystemExit(1)
    if not is_conventional(message):
        click.echo("laneboard: note: the first line is not a Conventional Commits header; "
                   "edit it before committing", err=True)
    if apply_:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        argv = ["git", "commit", *(["-e"] if interactive else []), "-m", message]
        code = subprocess.call(argv, cwd=str(repo))
        if code != 0:
            click.echo(f"laneboard: `git commit` exited with {code}; nothing was committed "
                       "by laneboard", err=True)
            raise SystemExit(1)
