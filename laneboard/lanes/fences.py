"""Fences: a lane's blast radius, compiled into each agent CLI's own enforcement.

A fence (`read-only` < `plan` < `workspace-write` < `full`) is enforced by the agent's own
sandbox, not by asking the model nicely: these pure functions turn a lane's fence and the
config's `fences.deny` into the flags the CLI itself obeys.

- Codex: `codex_sandbox(fence)` → `--sandbox read-only | workspace-write |
  danger-full-access` (plan has no Codex equivalent, so it is read-only).
- Claude Code: `claude_permission_args(fence, deny)` → `--permission-mode plan` for the two
  fences that do not write, `--disallowed-tools` with the writing and dialog tools for
  them, and a `Bash(<command>:*)` rule for every shell deny pattern on every lane. A
  writable lane gets no permission mode at all: Claude's default asks, and laneboard never
  answers yes for you (no `acceptEdits`, never `--dangerously-skip-permissions`).
- Everything else: `DenyMatcher(deny)` tests the command named in a permission prompt
  against `fences.deny`; a hit means the prompt is denied and an event raised. Shell
  patterns match tokenised commands (`rm  -rf   /`, `sudo rm -fr /`, `bash -c "rm -r -f /"`
  all match `rm -rf /`), HTTP patterns (`DELETE /api/*`) match requests and curl / wget /
  HTTPie command lines. The matcher lives in `laneboard.harnesses.deny` (it is pure text
  matching, and the harnesses answer the permission prompts with it); it is re-exported
  here with the rule compiler `claude_bash_rules`.

**The fence, not the prompt, decides.** A prompt routed to a read-only or plan lane that
asks for writes ("implement this", "fix the bug and commit") is still sent to that lane
read-only: the route decision's fence is always the chosen lane's configured fence, and
nothing in a prompt can widen it. Words in a prompt are data — possibly untrusted data —
while the fence is configuration the person wrote. If a prompt needs writes, route it to
a writable lane (a rule, or `@coder`); the router never upgrades a fence to fit the ask.

**What holds a lane's fence** (`fence_summary`, shown by `route` and `send`): Codex lanes —
`--sandbox` plus `fences.deny` compiled into Codex's execpolicy rules; Claude Code lanes —
the permission flags plus laneboard's PreToolUse hook; command lanes — a bubblewrap
sandbox, and no deny entries, because the deny list cannot apply inside an arbitrary
program; lanes without tools (Ollama) run nothing, so no deny entry has anything to hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from laneboard.config import FENCE_ORDER, WRITABLE_FENCES, Config
from laneboard.core.harness_kinds import kind
from laneboard.harnesses.deny import DenyHit, DenyMatcher, claude_bash_rules

__all__ = [
    "CLAUDE_PLAN_DISALLOWED",
    "DenyHit",
    "DenyMatcher",
    "claude_bash_rules",
    "claude_permission_args",
    "codex_sandbox",
    "fence_summary",
    "is_writable",
]

CodexSandbox = Literal["read-only", "workspace-write", "danger-full-access"]

_CODEX_SANDBOX: dict[str, CodexSandbox] = {
    "read-only": "read-only",
    "plan": "read-only",
    "workspace-write": "workspace-write",
    "full": "danger-full-access",
}

#: Disallowed in a lane that must not write: the writing tools, and the two tools that
#: open dialogs nobody should have to answer in a relayed plan-mode session.
CLAUDE_PLAN_DISALLOWED = (
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "AskUserQuestion",
    "ExitPlanMode",
)


def _check(fence: str) -> str:
    if fence not in FENCE_ORDER:
        raise ValueError(f"unknown fence {fence!r}; one of: {', '.join(FENCE_ORDER)}")
    return fence


def is_writable(fence: str) -> bool:
    """workspace-write and full may write; read-only and plan may not."""
    return _check(fence) in WRITABLE_FENCES


def codex_sandbox(fence: str) -> CodexSandbox:
    """The `codex --sandbox` value that enforces `fence` (plan is read-only to Codex)."""
    return _CODEX_SANDBOX[_check(fence)]


def claude_permission_args(fence: str, deny: Iterable[str] = ()) -> list[str]:
    """Claude Code flags enforcing `fence` and `deny`.

    `--disallowed-tools` takes several values, so callers must end options with `--`
    before a positional prompt (or pass the prompt on stdin).
    """
    args: list[str] = []
    disallowed: list[str] = []
    if not is_writable(fence):
        args += ["--permission-mode", "plan"]
        disallowed += CLAUDE_PLAN_DISALLOWED
    disallowed += claude_bash_rules(deny)
    if disallowed:
        args += ["--disallowed-tools", *disallowed]
    return args


def fence_summary(cfg: Config, lane_id: str) -> dict[str, object]:
    """`{"fence", "deny", "enforced_by"}` for `lane_id`: the fence, the `fences.deny` entries
    that apply to it, and what enforces them — so a person sees what holds before sending."""
    lane = cfg.lanes[lane_id]
    fence = str(lane.fence)
    deny = list(cfg.fences.deny)
    harness = str(lane.harness)
    row = kind(harness)
    if row.sandboxed:
        held = row.fence_enforcement or "sandbox"
        enforced = "nothing (fence full: no sandbox)" if fence == "full" else held
        deny = []
    elif row.fence_enforcement is not None:
        enforced = row.fence_enforcement.format(sandbox=codex_sandbox(fence))
    else:
        enforced = f"{harness} lanes run no tools: nothing to deny"
        deny = []
    return {"fence": fence, "deny": deny, "enforced_by": enforced}
