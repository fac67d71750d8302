"""The conductor's active runs as a tree, beside the lane list.

A run is one lane's request (usually `main`, asked by a person) that fanned out into
delegations; each hop is a child of the hop that asked for it, so "main → coder → worker"
reads top-down the way it happened. The widget only renders plain data handed down by the
screen (`RunsChanged`, built by the app from `ControlServer.active_runs`): it never sees the
control server, and a repaint never waits on a lane.

It hides itself while no run is active, so a cockpit that never delegates keeps its layout.
The cursor stays on the run it was on across updates (runs are re-rendered whole: a tree
of a few hops is cheaper to rebuild than to diff); `selected_run` is what the cancel key
acts on — the run under the cursor, else the oldest active one.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from laneboard.tui.theme import style as themed

__all__ = ["RunTree", "hop_label", "run_label"]

_STATE_STYLE = {"running": "bold", "done": "dim", "failed": "bold $error",
                "interrupted": "$warning", "timed-out": "$warning"}


def run_label(run: dict[str, Any], now: float | None = None) -> Text:
    """`run 3f9a01bc · main · 12s`."""
    age = max(0, int((now or time.time()) - float(run.get("started") or 0)))
    label = Text()
    label.append(f"run {str(run['run'])[:8]}", style="bold")
    label.append(f" · {run.get('root', '?')} · {age}s")
    return label


def hop_label(hop: dict[str, Any]) -> Text:
    """`coder: delegate · running` (the asking lane is the parent node)."""
    state = str(hop.get("state") or "?")
    label = Text()
    label.append(str(hop.get("lane", "?")), style="bold")
    label.append(f": {hop.get('tool', '?')} · ")
    label.append(state, style=themed(_STATE_STYLE.get(state, "")))
    if hop.get("model"):
        label.append(f" · {hop['model']}", style="dim")
    return label


class RunTree(Tree[str]):
    """Active conductor runs; node data is the run id (run nodes) or the hop id."""

    DEFAULT_CSS = """
    RunTree { display: none; }
    RunTree.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("runs", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.runs: list[dict[str, Any]] = []

    def show_runs(self, runs: list[dict[str, Any]]) -> None:
        """Replace the tree with these runs (plain data), keeping the cursor's run."""
        keep = self.selected_run
        self.runs = runs
        self.set_class(bool(runs), "-active")
        self.border_title = f"runs · {len(runs)}"
        self.clear()
        cursor: TreeNode[str] | None = None
        for run in runs:
            node = self.root.add(run_label(run), data=str(run["run"]), expand=True)
            by_parent: dict[str | None, list[dict[str, Any]]] = {}
            for hop in run.get("hops", []):
                by_parent.setdefault(hop.get("parent"), []).append(hop)
            self._add_hops(node, None, by_parent)
            if run["run"] == keep:
                cursor = node
        if cursor is not None:
            self.move_cursor(cursor)

    def _add_hops(self, node: TreeNode[str], parent: str | None,
                  by_parent: dict[str | None, list[dict[str, Any]]]) -> None:
        for hop in by_parent.get(parent, []):
            children = by_parent.get(hop.get("hop"))
            child = node.add(hop_label(hop), data=str(hop.get("hop")), expand=True,
                             allow_expand=bool(children))
            if children:
                self._add_hops(child, hop.get("hop"), by_parent)

    @property
    def selected_run(self) -> str | None:
        """The run under the cursor (a hop's run too), else the oldest active run."""
        node = self.cursor_node
        while node is not None and node.parent is not None and node.parent is not self.root:
            node = node.parent
        if node is not None and node.parent is self.root and node.data is not None:
            return node.data
        return str(self.runs[0]["run"]) if self.runs else None
