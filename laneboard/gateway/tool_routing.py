"""Per-tool routing on the wire: a tool call the primary makes is answered by another model.

Why at the gateway: the seed request (OpenClaw's per-tool model routing) wants, say, file
edits written by a coding model while the reasoning turns stay on the lane's own model.
Only the gateway sees the primary's tool call before the CLI acts on it, so it can ask the
routed model for that one call — the same request, in the same wire protocol, with the
tool choice forced to that tool — and put the routed model's call in its place. The call
keeps the primary's id, so the CLI's tool result answers the turn it belongs to and the
agent does not notice. If the routed model (and its fallbacks) cannot answer, the
primary's own call goes on unchanged: routing never costs a lane its turn. Every
protocol routes, streamed or not (Anthropic `tool_use`, Responses `function_call` /
`custom_tool_call`, Chat `tool_calls`, Ollama `message.tool_calls`); where the call lives
is each relay's business (`relay_base`, `relays`, `relays_openai`), asking is
`routed_call`'s, and whose key the routed call carries is `route_auth`'s.

Names match case-insensitively: exact, `prefix*`, or any glob (`fnmatch`); the first
route that matches wins (the lanes layer orders per-lane `tools:` before the defaults).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from laneboard.gateway.protocols import Protocol
from laneboard.gateway.registry import ToolRoute


def route_for(routes: Sequence[ToolRoute], name: str) -> ToolRoute | None:
    return next((r for r in routes if r.matches(name)), None)


#: The protocols whose responses the relays can re-route (streamed and whole).
ROUTABLE: frozenset[Protocol] = frozenset({"anthropic", "responses", "chat", "ollama"})


def forced_body(proto: Protocol, body: Any, tool: str, kind: str = "function",
                ) -> dict[str, Any] | None:
    """The primary's request, asking for exactly one call of `tool`, not streamed.

    Anthropic refuses a forced tool choice with extended thinking on, so thinking (and
    the context edits that clear thinking blocks) are dropped from the routed request:
    the routed model only fills in the call's input. Responses forces a freeform tool
    (`kind == "custom_tool_call"`, Codex's `exec`/`apply_patch`) as `custom`, a function
    as `function`. Chat drops `stream_options`, which the API refuses without `stream`.
    Ollama has no tool choice: the request offers that one tool only.
    """
    if not isinstance(body, dict):
        return None
    if proto == "anthropic":
        out = {k: v for k, v in body.items() if k not in ("thinking", "context_management")}
        return {**out, "tool_choice": {"type": "tool", "name": tool}, "stream": False}
    if proto == "responses":
        choice = "custom" if kind == "custom_tool_call" else "function"
        return {**body, "tool_choice": {"type": choice, "name": tool}, "stream": False}
    if proto == "chat":
        out = {k: v for k, v in body.items() if k != "stream_options"}
        return {**out, "tool_choice": {"type": "function", "function": {"name": tool}},
                "stream": False}
    if proto == "ollama":
        tools = [t for t in body.get("tools") or [] if _tool_name(t).casefold() == tool.casefold()]
        return {**body, "tools": tools, "stream": False} if tools else None
    return None


def _tool_name(spec: Any) -> str:
    if not isinstance(spec, dict):
        return ""
    fn = spec.get("function")
    return str((fn if isinstance(fn, dict) else spec).get("name") or "")


def _same(name: Any, tool: str) -> bool:
    return str(name or "").casefold() == tool.casefold()


def routed_input(proto: Protocol, body: Any, tool: str, kind: str = "function") -> Any | None:
    """The input of the routed model's call of `tool` in its (whole) response: Anthropic's
    `input` object, Responses' `arguments` (function) or `input` (freeform) string, Chat's
    `arguments` string, Ollama's `arguments` object. None: it made no such call."""
    if not isinstance(body, dict):
        return None
    if proto == "anthropic":
        for block in body.get("content") or []:
            if (isinstance(block, dict) and block.get("type") == "tool_use"
                    and _same(block.get("name"), tool)):
                return block.get("input")
    elif proto == "responses":
        want = "custom_tool_call" if kind == "custom_tool_call" else "function_call"
        key = "input" if want == "custom_tool_call" else "arguments"
        for item in body.get("output") or []:
            if (isinstance(item, dict) and item.get("type") == want
                    and _same(item.get("name"), tool) and isinstance(item.get(key), str)):
                return item[key]
    elif proto in ("chat", "ollama"):
        if proto == "chat":
            choices = body.get("choices")
            first = choices[0] if isinstance(choices, list) and choices else None
            msg = first.get("message") if isinstance(first, dict) else None
        else:
            msg = body.get("message")
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        for call in calls if isinstance(calls, list) else []:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and _same(fn.get("name"), tool):
                args = fn.get("arguments")
                if proto == "chat" and isinstance(args, str):
                    return args
                if proto == "ollama" and isinstance(args, dict):
                    return args
    return None
