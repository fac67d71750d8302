"""Fences on the wire: the commands inside a response's tool calls, judged by `fences.deny`.

Why at the gateway too: each CLI enforces fences natively (permission modes, sandbox,
hooks), but a CLI can be misconfigured, upgraded or bypassed; the gateway sees the tool
call before the CLI does, whatever the harness. This is a second line, so it refuses what
the matcher says is `denied`. An `undecidable` command (computed verb, script laneboard
cannot see) is passed on to the CLI, whose own enforcement asks a person: the gateway
cannot ask, and refusing every `$(…)` would break ordinary work.

Where the protocol exposes the command: an Anthropic `tool_use` whose input has
`command`; an OpenAI function call whose arguments have `cmd`/`command` (string or argv);
Codex's freeform `exec` tool (JavaScript), whose `tools.exec_command({cmd: "…"})` string
literals are read; a `local_shell_call`'s `action.command`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from typing import Any

from laneboard.harnesses.deny import DenyHit, DenyMatcher

#: `cmd: "…"` / `cmd: '…'` / `command: `…`` inside Codex's JavaScript tool input.
_JS_CMD = re.compile(
    r"""\b(?:cmd|command)\s*:\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
)


def _argv_or_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if len(value) == 3 and value[0].endswith("sh") and value[1] in ("-c", "-lc"):
            return str(value[2])
        return shlex.join(value)
    return None


def commands_in_input(value: Any) -> list[str]:
    """Commands in a tool's input object (Anthropic `input`, OpenAI `arguments`)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, dict):
        return []
    out = []
    for key in ("command", "cmd"):
        c = _argv_or_text(value.get(key))
        if c:
            out.append(c)
    return out


def _js_literal(lit: str) -> str:
    body = lit[1:-1]
    if lit[0] == '"':
        try:
            return str(json.loads(lit))
        except ValueError:
            return body
    return re.sub(r"\\(.)", r"\1", body)


def commands_in_js(source: str) -> list[str]:
    return [_js_literal(m.group(1)) for m in _JS_CMD.finditer(source)]


def commands_in_item(item: Any) -> list[str]:
    """Commands in an OpenAI Responses output item (or a Chat tool call)."""
    if not isinstance(item, dict):
        return []
    t = item.get("type")
    if t == "function_call" or t == "function":
        fn = item.get("function")
        args = fn.get("arguments") if isinstance(fn, dict) else item.get("arguments")
        return commands_in_input(args)
    if t == "custom_tool_call":
        src = item.get("input")
        return commands_in_js(src) if isinstance(src, str) else []
    if t == "local_shell_call":
        action = item.get("action")
        c = _argv_or_text(action.get("command")) if isinstance(action, dict) else None
        return [c] if c else []
    return []


class WireFence:
    def __init__(self, deny: Iterable[str]) -> None:
        self.matcher = DenyMatcher(list(deny))

    def __bool__(self) -> bool:
        return bool(self.matcher)

    def refused(self, commands: Iterable[str]) -> DenyHit | None:
        """The deny entry hit by the first denied command, if any."""
        if not self.matcher:
            return None
        for c in commands:
            v = self.matcher.judge(c)
            if v.denied and v.hit is not None:
                return v.hit
        return None


def refusal_text(tool: str, hit: DenyHit) -> str:
    return (f"laneboard refused this {tool} call at the gateway: the command `{hit.matched}` "
            f"is denied by the fence entry `{hit.pattern}` (fences.deny). It was not run; "
            "choose another way or ask the person at the cockpit.")
