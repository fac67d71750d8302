"""Names laneboard derives or tags things with: a workspace's tmux session, the rules of
the routes the core makes itself (triage, escalation).

Why here: the supervisor, the dispatcher and the cockpit all need them, and the cockpit
needs them before its first frame — when importing `laneboard.lanes` (the config models,
~150 ms of pydantic) is not allowed yet. One copy below everything replaces the TUI's
copies and the drift tests that guarded them.
"""

from __future__ import annotations

import re
from pathlib import Path

TRIAGE_RULE = "routing.triage"
"""The `rule` of a route to the triage lane (the untrusted-input gate)."""
ESCALATE_RULE = "escalate"
"""The `rule` of a route the cockpit escalates to the review lane (ctrl+r, ctrl+t)."""


def workspace_session(workspace: Path) -> str:
    """tmux session name for a workspace: `lb-<dir name>`, tmux-safe, at most 48 chars."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", workspace.resolve().name).strip("-") or "root"
    return f"lb-{name}"[:48]
