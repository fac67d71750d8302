"""Runs and hops: the provenance of every delegation.

A *run* starts when a lane that is not itself working on a delegated task (a person asked
it) calls a conductor tool; every hop below it — the delegate's own delegations included
— belongs to that run and counts against its budget. A *hop* is one lane asking another:
who asked, whom, what for (the redacted task), by which rule, which model answered, how
long it took and what it used. Each hop ends as one artifact whose `extra` holds `run`,
`parent` (the hop above, or null) and `hop`, so `laneboard runs` can rebuild the tree from
the files alone, after the supervisor that ran it is gone.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hop", "Run", "new_id", "tree_from_artifacts"]


def new_id() -> str:
    """A run or hop id: 16 hex characters (the first 8 are enough to name it)."""
    return secrets.token_hex(8)


@dataclass
class Hop:
    """One delegation, from the moment the server accepted it."""

    id: str
    run: str
    parent: str | None
    caller: str
    lane: str
    tool: str
    task: str
    rule: str
    reason: str
    depth: int
    chain: tuple[str, ...]
    untrusted: bool
    state: str = "running"
    answer: str | None = None
    model: str | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    artifact: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    """The tool's own result fields (a review's findings, a triage verdict)."""
    timing: dict[str, float] = field(default_factory=dict)
    """Epoch seconds: received, sent (handed to the lane), turn_started, turn_finished,
    returned; the overhead benchmark reads them."""
    task_handle: asyncio.Task[None] | None = None
    cancelled: bool = False
    """A person (or the run's root) cancelled it: it ends `interrupted`, whatever the turn
    said."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "hop": self.id, "run": self.run, "parent": self.parent, "caller": self.caller,
            "lane": self.lane, "tool": self.tool, "task": self.task, "rule": self.rule,
            "reason": self.reason, "depth": self.depth, "untrusted": self.untrusted,
            "state": self.state, "answer": self.answer, "model": self.model,
            "error": self.error, "usage": self.usage, "artifact": self.artifact,
            "timing": dict(self.timing), **self.result,
        }


@dataclass
class Run:
    """A tree of hops under one root request, with its budget use."""

    id: str
    root: str
    started: float = field(default_factory=time.time)
    turns: int = 0
    tokens: int = 0
    hops: list[str] = field(default_factory=list)


def tree_from_artifacts(docs: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """run id → {"run", "started", "hops": [...]} from artifact documents (`as_dict`) whose
    `extra` carries a `run`; hops in time order, each with its `parent`."""
    runs: dict[str, dict[str, Any]] = {}
    for doc in docs:
        extra = doc.get("extra") or {}
        run = extra.get("run")
        if not isinstance(run, str):
            continue
        entry = runs.setdefault(run, {"run": run, "started": None, "hops": []})
        started = doc.get("started")
        hop = {
            "hop": extra.get("hop"), "parent": extra.get("parent"), "caller": extra.get("caller"),
            "lane": doc.get("lane"), "tool": extra.get("tool"), "model": doc.get("model"),
            "state": doc.get("state"), "title": doc.get("title"), "started": started,
            "finished": doc.get("finished"), "elapsed_s": extra.get("elapsed_s"),
            "usage": doc.get("usage"), "rule": (doc.get("route") or {}).get("rule"),
            "artifact": doc.get("path"),
        }
        entry["hops"].append(hop)
        if started is not None and (entry["started"] is None or str(started) < str(entry["started"])):
            entry["started"] = started
    for entry in runs.values():
        entry["hops"].sort(key=lambda h: str(h.get("started") or ""))
    return runs
