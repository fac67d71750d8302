"""How a Claude Code lane is launched: its command line, environment and config dir.

Why apart from the harness: this is where a lane's fence becomes Claude Code's own flags
(`build_argv`: plan mode, the read tools only, `--restricted`, `--strict-mcp-config`, the
`fences.deny` prefix rules) — the part a reviewer of fence enforcement reads — and the
demo, the tests and preflight need it without the pane driver. `seed_isolated_config`
prepares a throwaway CLAUDE_CONFIG_DIR (never the person's own).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from laneboard.errors import HarnessError
from laneboard.harnesses.base import (
    WRITABLE_FENCES,
    HarnessSpec,
    binary_of,
)
from laneboard.harnesses.deny import claude_bash_rules

PINNED_VERSION = "2.1.328"
VERSION_RE = re.compile(r"^(\d+\.\d+\.\d+) \(Claude Code\)$")
INSTALL_HINT = f"npm install @anthropic-ai/claude-code@{PINNED_VERSION}"

#: The tools a plan/read-only lane may use at all.
READ_TOOLS = ("Read", "Grep", "Glob")
#: Always disallowed in a plan/read-only lane: the writers, and the tools that open
#: plan-mode dialogs (AskUserQuestion, ExitPlanMode) nobody should have to answer.
PLAN_DISALLOWED = ("Write", "Edit", "NotebookEdit", "AskUserQuestion", "ExitPlanMode")
#: Claude Code accepts these for `--effort`.
EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})


def is_fenced(spec: HarnessSpec) -> bool:
    """Plan and read-only lanes must not write; workspace-write and full may."""
    return spec.fence not in WRITABLE_FENCES


def build_argv(
    spec: HarnessSpec,
    *,
    session_id: str | None = None,
    headless: bool = False,
    binary: str = binary_of("claude-code"),
    prompt: str | None = None,
    settings: str | None = None,
    mcp_config: str | None = None,
) -> list[str]:
    """The `claude` command line for a lane (headless adds `-p` and the prompt after `--`).

    `settings` is the lane's private settings file carrying laneboard's PreToolUse fence
    hook (`claude_hooks.settings_args`); it is passed with `--settings`, never merged into
    the person's own settings. `mcp_config` (from `conductor_config`, only for a lane
    allowed to delegate) attaches laneboard's MCP server with `--strict-mcp-config`, so
    the lane gets that server and no other, and pre-allows laneboard's own tools only.
    """
    argv = [binary]
    if headless:
        argv += [
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--permission-prompts",
            "none",
        ]
    if spec.model:
        argv += ["--model", spec.model]
    if spec.fallback_models:
        argv += ["--fallback-model", ",".join(spec.fallback_models)]
    if spec.thinking in EFFORTS:
        argv += ["--effort", str(spec.thinking)]
    if settings:
        argv += ["--settings", settings]
    if session_id:
        argv += ["--session-id", session_id]
    if mcp_config:
        from laneboard.harnesses.mcp_attach import claude_args

        argv += claude_args(mcp_config)  # includes --strict-mcp-config
    disallowed: list[str] = []
    if is_fenced(spec):
        argv += ["--permission-mode", "plan", "--restricted"]
        if not mcp_config:
            argv += ["--strict-mcp-config"]
        argv += ["--tools", ",".join(READ_TOOLS)]
        disallowed += PLAN_DISALLOWED
    disallowed += claude_bash_rules(spec.deny)
    if disallowed:
        argv += ["--disallowed-tools", *disallowed]
    if prompt is not None:
        argv += ["--", prompt]
    return argv


def conductor_config(spec: HarnessSpec, folder: Path) -> str | None:
    """Write the lane's `--mcp-config` file (0600, atomic) into `folder` when the lane may
    delegate (its spec carries the control socket and its token); None for any other lane.
    The MCP server runs with this interpreter: the laneboard that launched the lane."""
    if not (spec.control_socket and spec.lane_token):
        return None
    import sys

    from laneboard.harnesses.mcp_attach import write_claude_config

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(write_claude_config(folder, spec.lane, spec.lane_token, sys.executable,
                                   spec.control_socket))


def build_env(spec: HarnessSpec, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The lane's environment: inherited, then the provider's, then the lane's own.

    `base_url` → ANTHROPIC_BASE_URL. `api_key_env` names the variable holding the key; its
    value is passed as ANTHROPIC_API_KEY unless the variable already is ANTHROPIC_API_KEY
    or ANTHROPIC_AUTH_TOKEN. Nonessential traffic (the `/api/hello` probe, telemetry) is
    switched off. The values are never logged.
    """
    env = dict(os.environ if base is None else base)
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    if spec.base_url:
        env["ANTHROPIC_BASE_URL"] = spec.base_url.rstrip("/")
    merged = {**env, **spec.env}
    key_var = spec.api_key_env
    if key_var and key_var not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        value = merged.get(key_var)
        if value:
            merged["ANTHROPIC_API_KEY"] = value
    return merged


def config_dir_of(env: Mapping[str, str]) -> Path:
    """Claude Code's data dir (transcripts): $CLAUDE_CONFIG_DIR, else ~/.claude."""
    cfg = env.get("CLAUDE_CONFIG_DIR")
    if cfg:
        return Path(cfg)
    return Path(env.get("HOME") or Path.home()) / ".claude"


def seed_isolated_config(
    config_dir: str | Path, cwd: str | Path, api_key: str | None = None
) -> Path:
    """Write `<config_dir>/.claude.json` so interactive Claude Code skips its setup dialogs.

    Only for an isolated CLAUDE_CONFIG_DIR that a test or the demo created: it marks
    onboarding done, trusts `cwd`, and pre-approves `api_key` (Claude Code stores the last
    20 characters). Existing content is kept and extended. Refuses (HarnessError) to touch
    the user's own configuration (`~/.claude.json`, `~/.claude/`).
    """
    target_dir = Path(config_dir).expanduser().resolve()
    home = Path.home().resolve()
    real = {home, home / ".claude"}
    if target_dir in real:
        raise HarnessError(
            f"seed_isolated_config: refusing to edit the user's own Claude Code config in "
            f"{target_dir}; pass a fresh directory and set CLAUDE_CONFIG_DIR to it"
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / ".claude.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data = {}
    data["hasCompletedOnboarding"] = True
    projects = data.setdefault("projects", {})
    for p in {str(Path(cwd).resolve()), str(Path(cwd).absolute())}:
        projects.setdefault(p, {})["hasTrustDialogAccepted"] = True
    if api_key:
        responses = data.setdefault("customApiKeyResponses", {"approved": [], "rejected": []})
        tail = api_key[-20:]
        if tail not in responses.setdefault("approved", []):
            responses["approved"].append(tail)
        responses.setdefault("rejected", [])
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def default_state_dir() -> Path:
    """Where each lane's private hook settings (and its MCP config, which holds its lane
    token) live unless the harness is given a dir: under laneboard's state dir —
    `$LANEBOARD_STATE_DIR` too, beside the token key, not in the platform's dir regardless."""
    env = os.environ.get("LANEBOARD_STATE_DIR")
    if env:
        return Path(env) / "claude-hooks"
    import platformdirs

    return Path(platformdirs.user_state_dir("laneboard")) / "claude-hooks"
