"""Per-tool routing on the wire: a tool call the primary makes is answered by another model.

Why at the gateway: the seed request (OpenClaw's per-tool model routing) wants, say, file
edits written by a coding model while the reasoning turns stay on the lane's own model.
Only the gateway sees the primary's tool call before the CLI acts on it, so it can ask the
routed model for that one call — the same request, in the same wire protocol, with the
tool choice forced to that tool — and put the routed model's call in its place. The call
keeps the primary's id, so the CLI's tool result answers the turn it belongs to and the
agent does not notice. If the routed model (and its fallbacks) cannot answer, the
primary's own call goes on unchanged: routing never costs a lane its turn.

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


#: The protocols whose responses the relays can re-route (see `AnthropicRelay`).
ROUTABLE: frozenset[Protocol] = frozenset({"anthropic"})


def forced_body(proto: Protocol, body: Any, tool: str) -> dict[str, Any] | None:
    """The primary's request, asking for exactly one call of `tool`, not streamed.

    Anthropic refuses a forced tool choice with extended thinking on, so thinking (and
    the context edits that clear thinking blocks) are dropped from the routed request:
    the routed model only fills in the call's input.
    """
    if not isinstance(body, dict):
        return None
    if proto == "anthropic":
        out = {k: v for k, v in body.items() if k not in ("thinking", "context_management")}
        return {**out, "tool_choice": {"type": "tool", "name": tool}, "stream": False}
    if proto == "responses":
        return {**body, "tool_choice": {"type": "function", "name": tool}, "stream": False}
    if proto == "chat":
        return {**body, "tool_choice": {"type": "function", "function": {"name": tool}},
                "stream": False}
    return None


def routed_input(proto: Protocol, body: Any, tool: str) -> Any | None:
    """The input of the routed model's call of `tool` in its (whole) response."""
    if proto != "anthropic" or not isinstance(body, dict):
        return None
    for block in body.get("content") or []:
        if (isinstance(block, dict) and block.get("type") == "tool_use"
                and str(block.get("name", "")).casefold() == tool.casefold()):
            return block.get("input")
    return None
