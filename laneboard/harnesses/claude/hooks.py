"""`fences.deny` enforced inside Claude Code by a PreToolUse hook that laneboard answers.

Why: `--disallowed-tools "Bash(rm -rf /:*)"` is a prefix rule; Claude Code compares the
start of the command, so `cd / && rm -rf /`, `bash -c "…"` or a wrapper slip past it. A
PreToolUse hook sees the whole tool call before it runs, so laneboard's own matcher
(`laneboard.harnesses.deny`) judges every Bash command and refuses a denied or
undecidable one. The prefix rules stay as the first line of defence.

Only flags laneboard passes carry it: `settings_args` writes a settings file into a
private per-lane directory laneboard owns (0700 directory, 0600 files, written atomically)
and returns `--settings <file>`. The person's `~/.claude/settings.json` and the project's
settings are never edited; `--restricted` lanes keep the hook (`--settings` still applies
there). The hook command is `<this python> -m laneboard hook pre-tool-use --deny-file F`,
where F holds the lane's deny list as JSON.

`decide(event, deny)` is the judgement, kept pure so the hook command stays a thin reader
of stdin: it returns the reason to refuse, or None to let Claude Code's own permission
rules decide (a hook never approves anything).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from laneboard.harnesses.deny import DenyMatcher

__all__ = [
    "HOOK_TIMEOUT_S",
    "decide",
    "hook_refusals",
    "settings_args",
    "settings_doc",
    "write_private",
]

#: Seconds Claude Code waits for the hook (a hook that hangs must not stall the lane).
HOOK_TIMEOUT_S = 30
#: A verb computed at run time cannot be judged by reading the text.
_COMPUTED = re.compile(r"\$\(|`|(?:^|[\s;&|(])eval(?:\s|$)|(?:^|[;&|(]\s*)\$\{?[A-Za-z_]")


def undecidable(command: str) -> str | None:
    """Why `command` cannot be judged from its text (a computed verb), or None."""
    if _COMPUTED.search(command):
        return "its command is computed at run time ($(…), backticks, eval or a $VAR verb)"
    return None


def decide(event: Mapping[str, object], deny: Iterable[str]) -> str | None:
    """The reason to refuse this PreToolUse `event`, or None (no opinion).

    A Bash command is checked line by line and part by part by the deny matcher; when a
    deny list exists, a command whose verb is computed is refused too, because nothing
    can tell what it will run. Any other tool's input (an MCP call, a web fetch) is
    checked as text, which catches `METHOD /path` requests in its fields.
    """
    matcher = DenyMatcher(deny)
    if not matcher:
        return None
    tool = str(event.get("tool_name") or "")
    tool_input = event.get("tool_input")
    if tool == "Bash":
        command = tool_input.get("command") if isinstance(tool_input, Mapping) else None
        if not isinstance(command, str):
            return "laneboard: a Bash call without a command string is refused"
        judge = getattr(matcher, "judge", None)  # the parser-based matcher's whole verdict
        if callable(judge):
            verdict = judge(command)
            if getattr(verdict, "denied", False) or getattr(verdict, "undecidable", False):
                reason = str(getattr(verdict, "reason", "") or "fences.deny applies")
                return f"laneboard refused this command: {reason}; it was not run"
        hit = matcher.match(command)
        if hit is not None:
            return (
                f"laneboard fences.deny forbids {hit.pattern!r} (matched {hit.matched!r}); "
                "this command was not run"
            )
        why = undecidable(command)
        if why is not None:
            return f"laneboard refused this command: {why}, and fences.deny applies to this lane"
        return None
    text = json.dumps(tool_input, ensure_ascii=False) if tool_input is not None else ""
    hit = matcher.match(text)
    if hit is not None:
        return f"laneboard fences.deny forbids {hit.pattern!r} (matched {hit.matched!r})"
    return None


def hook_command(deny_file: Path, python: str | None = None) -> str:
    """The shell command Claude Code runs for the hook (laneboard under this interpreter)."""
    argv = [python or sys.executable, "-m", "laneboard", "hook", "pre-tool-use"]
    return shlex.join([*argv, "--deny-file", str(deny_file)])


def settings_doc(deny_file: Path, python: str | None = None) -> dict[str, object]:
    """The `--settings` document: one PreToolUse hook on every tool."""
    return {
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "*",
                    "hooks": [
                        {
                            "type": "command",
                            "command": hook_command(deny_file, python),
                            "timeout": HOOK_TIMEOUT_S,
                        }
                    ],
                }
            ]
        }
    }


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, 0600, in a 0700 directory laneboard owns.

    A directory that exists with another owner or group/other access is refused
    (PermissionError): the hook's command line is read from this file, so whoever could
    write there could run code as the person.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(directory)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(
            f"{directory}: must be a directory owned by uid {os.getuid()} with mode 0700"
        )
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def settings_args(lane_dir: Path, deny: Iterable[str], python: str | None = None) -> list[str]:
    """Write the lane's deny list and hook settings into `lane_dir`; `--settings FILE`."""
    deny_file = lane_dir / "deny.json"
    settings = lane_dir / "settings.json"
    write_private(deny_file, json.dumps({"deny": list(deny)}, indent=2))
    write_private(settings, json.dumps(settings_doc(deny_file, python), indent=2))
    return ["--settings", str(settings)]


def read_deny_file(path: Path) -> list[str]:
    """The deny list the hook enforces; ValueError naming the file if it is malformed."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the deny list ({exc})") from exc
    deny = doc.get("deny") if isinstance(doc, dict) else None
    if not isinstance(deny, list) or not all(isinstance(d, str) for d in deny):
        raise ValueError(f"{path}: field 'deny' must be a list of strings")
    return deny


#: The start of every refusal `decide` writes (what `hook_refusals` looks for).
_REFUSAL = re.compile(r"laneboard (?:fences\.deny forbids|refused this command)")


def hook_refusals(record: Mapping[str, object]) -> list[str]:
    """The hook's refusals in one transcript record (tool_result blocks carrying them), so
    the harness can raise the same `fence` event a refused dialog raises."""
    message = record.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    found: list[str] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, Mapping) or block.get("type") != "tool_result":
            continue
        inner = block.get("content")
        texts = (
            [inner]
            if isinstance(inner, str)
            else [str(b.get("text", "")) for b in inner or [] if isinstance(b, Mapping)]
            if isinstance(inner, list)
            else []
        )
        found += [t.strip() for t in texts if _REFUSAL.search(t)]
    return found
