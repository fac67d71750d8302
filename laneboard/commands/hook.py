"""`laneboard hook pre-tool-use --deny-file F`: Claude Code's PreToolUse hook, answered by laneboard.

Claude Code runs this before every tool call of a laneboard lane (the `--settings` file
from `harnesses.claude_hooks` names it) with the call as JSON on stdin. Exit 0 with no
output leaves the decision to Claude Code's own permission rules (a hook never approves);
exit 2 with the reason on stderr blocks the call, and Claude Code shows the reason to the
model. Anything that cannot be read — stdin that is not a JSON object, a missing or
malformed deny file — also blocks: a fence that cannot be checked fails closed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

#: A tool call larger than this is refused unread (the hook must stay bounded).
MAX_EVENT_BYTES = 4 * 1024 * 1024


@click.group(name="hook")
def hook() -> None:
    """Hooks that agent CLIs run on laneboard's behalf (not for direct use)."""


@hook.command(name="pre-tool-use")
@click.option(
    "--deny-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help='JSON {"deny": [...]} written by laneboard for this lane.',
)
def pre_tool_use(deny_file: Path) -> None:
    """Read a PreToolUse event on stdin; exit 2 with the reason when fences.deny refuses it."""
    from laneboard.harnesses.claude.hooks import decide, read_deny_file

    raw = sys.stdin.buffer.read(MAX_EVENT_BYTES + 1)
    try:
        if len(raw) > MAX_EVENT_BYTES:
            raise ValueError(f"the tool call is larger than {MAX_EVENT_BYTES} bytes")
        event = json.loads(raw.decode("utf-8"))
        if not isinstance(event, dict):
            raise ValueError("the hook input is not a JSON object")
        deny = read_deny_file(deny_file)
    except (ValueError, UnicodeDecodeError) as exc:
        click.echo(f"laneboard hook: refused, the call cannot be checked: {exc}", err=True)
        sys.exit(2)
    reason = decide(event, deny)
    if reason is not None:
        click.echo(reason, err=True)
        sys.exit(2)
