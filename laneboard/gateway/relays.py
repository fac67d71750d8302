"""Per-protocol stream relays: pass events on as they come, hold only a tool call.

Why hold a tool call: its command is only known once its input is complete (Anthropic
streams `input_json_delta` pieces, Responses an item from `added` to `done`, Chat
`tool_calls` deltas until `finish_reason`). Every other event leaves the gateway the
moment it is complete, byte for byte. A held call whose tool is routed
(`routing.tools`) is first answered by the routed model (`relay_base`); then the fence
judges the call that goes to the CLI, and a denied one is replaced by a text block /
message carrying a refusal the agent reads; if that leaves a response with no tool call,
its stop reason says the turn ended (a `tool_use` stop with no tool would wedge the CLI).
Nothing else in a response is altered.

Each relay also folds usage fields into `usage`, collects tool names, and feeds the text
to the repetition watchdog; `cut` is set when the watchdog trips, and the server ends the
stream there. Anthropic and Ollama live here, the OpenAI pair in `relays_openai`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from laneboard.gateway.framing import parse_ndjson, parse_sse, sse
from laneboard.gateway.protocols import Protocol, take_usage
from laneboard.gateway.registry import ToolRoute
from laneboard.gateway.relay_base import MAX_TEXT, Ask, PendingCall, Relay
from laneboard.gateway.relays_openai import ChatRelay, ResponsesRelay
from laneboard.gateway.tool_routing import ROUTABLE
from laneboard.gateway.wire_fence import WireFence, commands_in_input

__all__ = ["MAX_TEXT", "AnthropicRelay", "Ask", "ChatRelay", "OllamaRelay", "PendingCall",
           "Relay", "ResponsesRelay", "relay_for"]


class AnthropicRelay(Relay):
    proto: Protocol = "anthropic"

    def __init__(self, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> None:
        super().__init__(fence, tools)
        self._held: list[bytes] = []
        self._block: dict[str, Any] | None = None
        self._json: list[str] = []
        self._kept_tools = 0

    def feed(self, raw: bytes) -> list[bytes]:
        ev = parse_sse(raw)
        data = ev.data if isinstance(ev.data, dict) else {}
        take_usage(self.proto, data, self.usage)
        t = data.get("type")
        if self._block is not None:
            self._held.append(raw)
            if t == "content_block_delta":
                d = data.get("delta") or {}
                if d.get("type") == "input_json_delta":
                    self._json.append(str(d.get("partial_json", "")))
                return []
            if t == "content_block_stop":
                return self._decide()
            return []
        if t == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._block = {"index": data.get("index", 0), **block}
                self._held, self._json = [raw], []
                return []
        if t == "message_delta" and self.refused and self._kept_tools == 0:
            d = data.get("delta") or {}
            if d.get("stop_reason") == "tool_use":
                data = {**data, "delta": {**d, "stop_reason": "end_turn"}}
                return [sse(ev.name, data)]
        self._watch(data)
        return [raw]

    def _decide(self) -> list[bytes]:
        block, held = self._block or {}, self._held
        self._block, self._held = None, []
        text = "".join(self._json)
        try:
            tool_input: Any = json.loads(text) if text else block.get("input", {})
        except ValueError:
            tool_input = {}
        name = str(block.get("name", "tool"))
        routed = self.route_of(name)
        if routed is not None:
            self.pending = PendingCall(name, routed, block, held, tool_input)
            return []
        return self._judge(block, held, name, tool_input)

    def resolve(self, new_input: Any | None, model: str | None) -> list[bytes]:
        """End the pending call: with the routed model's input (the call keeps the
        primary's id and name), or, when the routed model gave none, as the primary made
        it. Either way the fence judges the call that goes to the CLI."""
        p, self.pending = self.pending, None
        if p is None:
            return []
        self._note(p, new_input, model)
        if new_input is None:
            return self._judge(p.block, p.held, p.tool, p.tool_input)
        idx = p.block.get("index", 0)
        start = {k: v for k, v in p.block.items() if k != "index"}
        held = [
            sse("content_block_start", {"type": "content_block_start", "index": idx,
                                        "content_block": {**start, "input": {}}}),
            sse("content_block_delta", {"type": "content_block_delta", "index": idx,
                                        "delta": {"type": "input_json_delta",
                                                  "partial_json": json.dumps(new_input)}}),
            sse("content_block_stop", {"type": "content_block_stop", "index": idx}),
        ]
        return self._judge(p.block, held, p.tool, new_input)

    def _judge(self, block: dict[str, Any], held: list[bytes], name: str,
               tool_input: Any) -> list[bytes]:
        refusal = self._refuse(name, commands_in_input(tool_input))
        if refusal is None:
            self._kept_tools += 1
            return held
        idx = block.get("index", 0)
        return [
            sse("content_block_start", {"type": "content_block_start", "index": idx,
                                        "content_block": {"type": "text", "text": ""}}),
            sse("content_block_delta", {"type": "content_block_delta", "index": idx,
                                        "delta": {"type": "text_delta", "text": refusal}}),
            sse("content_block_stop", {"type": "content_block_stop", "index": idx}),
        ]

    def finish(self) -> list[bytes]:
        held, self._held, self._block = self._held, [], None
        return held  # a stream that ended inside a tool block: pass what came, unchanged

    def whole_calls(self, body: Any) -> list[PendingCall]:
        blocks = body.get("content") if isinstance(body, dict) else None
        out: list[PendingCall] = []
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                route = self.route_of(str(block.get("name") or ""))
                if route is not None:
                    out.append(PendingCall(str(block.get("name")), route, block, [],
                                           block.get("input")))
        return out

    def whole(self, body: Any) -> Any:
        take_usage(self.proto, body, self.usage)
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            return body
        content, kept = [], 0
        for block in body["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                refusal = self._refuse(str(block.get("name")),
                                       commands_in_input(block.get("input")))
                if refusal is not None:
                    content.append({"type": "text", "text": refusal})
                    continue
                kept += 1
            content.append(block)
        if self.refused:
            body = {**body, "content": content}
            if kept == 0 and body.get("stop_reason") == "tool_use":
                body["stop_reason"] = "end_turn"
        return body


class OllamaRelay(Relay):
    """Ollama NDJSON: a chunk carries whole `message.tool_calls`."""

    proto: Protocol = "ollama"

    def feed(self, raw: bytes) -> list[bytes]:
        data = parse_ndjson(raw)
        take_usage(self.proto, data, self.usage)
        self._watch(data)
        if self.routes and self.whole_calls(data):
            copied = copy.deepcopy(data)
            return self._route_calls(self.whole_calls(copied),
                                     lambda answers: self._settle(raw, copied, answers))
        return self._settle(raw, data, [])

    def _settle(self, raw: bytes, data: Any, answers: list[tuple[PendingCall, Any]],
                ) -> list[bytes]:
        """The chunk with the routed models' arguments (the call's name and place kept),
        as the fence lets it through."""
        for p, new_input in answers:
            if new_input is not None:
                p.block[p.key] = new_input
        if any(new is not None for _, new in answers):
            raw = (json.dumps(data) + "\n").encode()
        changed = self.whole_chunk(data)
        if changed is not data:
            return [(json.dumps(changed) + "\n").encode()]
        return [raw]

    def _calls(self, data: Any) -> list[Any]:
        msg = data.get("message") if isinstance(data, dict) else None
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        return calls if isinstance(calls, list) else []

    def whole_calls(self, body: Any) -> list[PendingCall]:
        out: list[PendingCall] = []
        for c in self._calls(body):
            fn = c.get("function") if isinstance(c, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), dict):
                route = self.route_of(str(fn.get("name") or ""))
                if route is not None:
                    out.append(PendingCall(str(fn.get("name")), route, fn, [],
                                           fn["arguments"], "function", "arguments"))
        return out

    def whole_chunk(self, data: Any) -> Any:
        calls = self._calls(data)
        if not calls:
            return data
        refusals = []
        for c in calls:
            fn = c.get("function") if isinstance(c, dict) else None
            if isinstance(fn, dict):
                r = self._refuse(str(fn.get("name")), commands_in_input(fn.get("arguments")))
                if r is not None:
                    refusals.append(r)
        if not refusals:
            return data
        return {**data, "message": {"role": "assistant", "content": "\n".join(refusals)}}

    def whole(self, body: Any) -> Any:
        take_usage(self.proto, body, self.usage)
        return self.whole_chunk(body)


def relay_for(proto: Protocol, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> Relay:
    """The relay for `proto`; `tools` (per-tool routes) only where it can re-route."""
    routes = tuple(tools) if proto in ROUTABLE else ()
    return {"anthropic": AnthropicRelay, "responses": ResponsesRelay, "chat": ChatRelay,
            "ollama": OllamaRelay}.get(proto, Relay)(fence, routes)
