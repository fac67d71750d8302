"""Fixed data for screen and snapshot tests: a preflight report, artifacts, lane states."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from laneboard.artifacts import ArtifactRecord, ArtifactStore
from laneboard.harnesses.base import Usage
from laneboard.lanes.preflight import Check, Report
from laneboard.lanes.supervisor import Supervisor

T0 = dt.datetime(2025, 5, 4, 9, 30, tzinfo=dt.UTC)


def fixed_report() -> Report:
    return Report(
        source="config.yaml",
        checks=[
            Check("config.load", "ok", "config.yaml", "loads and validates"),
            Check("models.resolve", "ok", "lane main", "gpt55 → openai-codex/gpt-5.5 (orchestrator)"),
            Check("policy.cheap-writable", "fail", "lane coder",
                  "local model ollama/qwen3:7b on a workspace-write lane",
                  "give the coder an orchestrator-tier model or make the lane read-only"),
            Check("policy.escalation-trivial", "warn", "lane main",
                  "escalation model as a fallback of the default lane",
                  "remove opus from main's fallbacks"),
            Check("cli.installed", "skip", "claude", "offline: not probed"),
        ],
    )


def fill_store(root: Path) -> ArtifactStore:
    store = ArtifactStore(root)
    store.write_sync(ArtifactRecord(
        kind="review", lane="review", harness="claude-code", model="anthropic/claude-opus-4-5",
        prompt="review the retry loop", title="Review: retry loop in the fetcher",
        answer="The retry loop never backs off.\n\n- add jitter\n- cap the delay",
        route={"lane": "review", "rule": "review", "reason": "The prompt starts with 'review'."},
        started=T0, finished=T0 + dt.timedelta(seconds=42), id="3f9a0c1d" * 2,
    ))
    store.write_sync(ArtifactRecord(
        kind="turn", lane="coder", harness="codex", model="openai-codex/gpt-5.3-codex",
        prompt="implement the cache", title="Implement the cache",
        answer="Added an LRU cache with a size bound.", started=T0 + dt.timedelta(hours=1),
        finished=T0 + dt.timedelta(hours=1, seconds=90), id="7b2e44aa" * 2,
    ))
    return store


def set_states(sup: Supervisor) -> None:
    """Three lanes in different states, with usage; no tmux involved."""
    lanes = sup.lanes
    lanes["main"].state = "busy"
    lanes["main"].prompts, lanes["main"].usage = 7, Usage(48_200, 9_100)
    lanes["coder"].state = "ready"
    lanes["coder"].prompts, lanes["coder"].usage = 3, Usage(12_400, 3_300, 0, 0.21)
    lanes["review"].state = "waiting"
    lanes["review"].detail = "permission: Bash(git push --force)"
    lanes["review"].prompts, lanes["review"].usage = 1, Usage(9_000, 1_200, 0, 0.31)
    lanes["triage"].state = "failed"
    lanes["triage"].detail = "could not start: ollama unreachable"


PANE = (
    "\x1b[1m$ codex\x1b[0m\n"
    "› summarise the failing test\n"
    "\x1b[32m✓\x1b[0m read tests/test_fetch.py\n"
    "\x1b[32m✓\x1b[0m ran pytest -k fetch (1 failed)\n"
    "The retry loop sleeps a fixed 1 s and never gives up; the test expects\n"
    "exponential backoff capped at 30 s. \x1b[33mProposed fix:\x1b[0m use the\n"
    "restart policy's backoff helper.\n"
)
