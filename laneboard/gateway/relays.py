"""Per-protocol stream relays: pass events on as they come, hold only a tool call.

Why hold a tool call: its command is only known once its input is complete (Anthropic
streams `input_json_delta` pieces, Responses an item from `added` to `done`, Chat
`tool_calls` deltas until `finish_reason`). Every other event leaves the gateway the
moment it is complete, byte for byte. A held call whose command the fence denies is
replaced by a text block / message carrying a refusal the agent reads; if that leaves a
response with no tool call, its stop reason says the turn ended (a `tool_use` stop with
no tool would wedge the CLI). Nothing else in a response is altered.

Each relay also folds usage fields into `usage`, collects tool names, and feeds the text
to the repetition watchdog; `cut` is set when the watchdog trips, and the server ends the
stream there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from laneboard.gateway.framing import parse_ndjson, parse_sse, sse
from laneboard.gateway.protocols import Protocol, Usage, take_usage, text_of
from laneboard.gateway.registry import ToolRoute
from laneboard.gateway.tool_routing import ROUTABLE, route_for
from laneboard.gateway.wire_fence import (
    WireFence,
    commands_in_input,
    commands_in_item,
    refusal_text,
)
from laneboard.harnesses.watchdog import RepetitionWatchdog

MAX_TEXT = 64 * 1024


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Relay:
    """Base: counts, watches, and passes events through unchanged."""

    proto: Protocol = "other"

    def __init__(self, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> None:
        self.fence = fence
        self.routes = tuple(tools)
        self.pending: PendingCall | None = None
        """A tool call held for its routed model: the server asks it, then `resolve`s."""
        self.routed: list[dict[str, Any]] = []
        """The calls answered by a routed model: tool, lane, model."""
        self.usage = Usage()
        self.tools: list[str] = []
        self.refused: list[str] = []
        self.watchdog = RepetitionWatchdog()
        self.cut = ""
        self.text: list[str] = []
        """The model's text so far (bounded by `MAX_TEXT`), for the turn artifact."""
        self._text_left = MAX_TEXT
        self._unwatched: list[str] = []
        self.error: str | None = None
        """Why the relayed response failed (for the turn artifact); None: it did not."""

    def _watch(self, data: Any) -> None:
        text = text_of(self.proto, data)
        if text:
            if self._text_left > 0:
                self.text.append(text[: self._text_left])
                self._text_left -= len(text)
            self._unwatched.append(text)

    def end_chunk(self) -> None:
        """Feed the repetition watchdog what the events of one upstream read said, in one
        piece (per event, its tail copy and unit scan were a per-event cost); `cut` is set
        when it trips. Called after each read, so the stream is still watched as it comes."""
        if self._unwatched:
            text = "".join(self._unwatched)
            self._unwatched.clear()
            if self.watchdog.feed(text):
                self.cut = self.watchdog.reason or "degenerate output"

    def feed(self, raw: bytes) -> list[bytes]:
        data = parse_sse(raw).data
        take_usage(self.proto, data, self.usage)
        self._watch(data)
        return [raw]

    def finish(self) -> list[bytes]:
        return []

    def resolve(self, new_input: Any | None, model: str | None) -> list[bytes]:
        """End `pending` (only relays that re-route ever set it)."""
        self.pending = None
        return []

    def whole(self, body: Any) -> Any:
        """A non-streamed response body: count, check, return it (changed or not)."""
        take_usage(self.proto, body, self.usage)
        return body

    def _refuse(self, tool: str, commands: list[str]) -> str | None:
        self.tools.append(tool)
        hit = self.fence.refused(commands) if self.fence else None
        if hit is None:
            return None
        self.refused.append(tool)
        return refusal_text(tool, hit)


@dataclass
class PendingCall:
    """A complete tool call whose name a route matches, waiting for the routed model."""

    tool: str
    route: ToolRoute
    block: dict[str, Any]
    held: list[bytes]
    tool_input: Any


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
        routed = route_for(self.routes, name) if self.routes else None
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
        if new_input is None:
            return self._judge(p.block, p.held, p.tool, p.tool_input)
        self.routed.append({"tool": p.tool, "lane": p.route.lane, "model": model})
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


def _message_item(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


class ResponsesRelay(Relay):
    proto: Protocol = "responses"
    CALLS = ("function_call", "custom_tool_call", "local_shell_call")

    def __init__(self, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> None:
        super().__init__(fence, tools)
        self._held: dict[int, list[bytes]] = {}
        self._replaced: dict[str, dict[str, Any]] = {}

    def feed(self, raw: bytes) -> list[bytes]:
        ev = parse_sse(raw)
        data = ev.data if isinstance(ev.data, dict) else {}
        take_usage(self.proto, data, self.usage)
        t = data.get("type")
        idx = data.get("output_index")
        item = _dict(data.get("item"))
        if t == "response.output_item.added" and item.get("type") in self.CALLS:
            self._held[int(idx or 0)] = [raw]
            return []
        if isinstance(idx, int) and idx in self._held:
            self._held[idx].append(raw)
            if t != "response.output_item.done":
                return []
            held = self._held.pop(idx)
            refusal = self._refuse(str(item.get("name") or item.get("type")),
                                   commands_in_item(item))
            if refusal is None:
                return held
            msg = _message_item(f"msg_refused_{idx}", refusal)
            self._replaced[str(item.get("id") or item.get("call_id"))] = msg
            return [
                sse("response.output_item.added", {"type": "response.output_item.added",
                                                   "output_index": idx, "item": msg}),
                sse("response.output_item.done", {"type": "response.output_item.done",
                                                  "output_index": idx, "item": msg}),
            ]
        if t in ("response.completed", "response.incomplete") and self._replaced:
            data = self._patch_response(data)
            return [sse(ev.name, data)]
        self._watch(data)
        return [raw]

    def _patch_response(self, data: dict[str, Any]) -> dict[str, Any]:
        resp = data.get("response")
        if not isinstance(resp, dict) or not isinstance(resp.get("output"), list):
            return data
        out = [self._replaced.get(str(i.get("id") or i.get("call_id")), i)
               if isinstance(i, dict) else i for i in resp["output"]]
        return {**data, "response": {**resp, "output": out}}

    def finish(self) -> list[bytes]:
        held = [raw for chunk in self._held.values() for raw in chunk]
        self._held = {}
        return held

    def whole(self, body: Any) -> Any:
        take_usage(self.proto, body, self.usage)
        if not isinstance(body, dict) or not isinstance(body.get("output"), list):
            return body
        out = []
        for i, item in enumerate(body["output"]):
            if isinstance(item, dict) and item.get("type") in self.CALLS:
                refusal = self._refuse(str(item.get("name") or item.get("type")),
                                       commands_in_item(item))
                if refusal is not None:
                    out.append(_message_item(f"msg_refused_{i}", refusal))
                    continue
            out.append(item)
        return {**body, "output": out} if self.refused else body


class ChatRelay(Relay):
    """OpenAI Chat Completions: tool call deltas are held until the finish chunk."""

    proto: Protocol = "chat"

    def __init__(self, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> None:
        super().__init__(fence, tools)
        self._held: list[bytes] = []
        self._calls: dict[int, dict[str, str]] = {}

    def feed(self, raw: bytes) -> list[bytes]:
        ev = parse_sse(raw)
        data = ev.data if isinstance(ev.data, dict) else {}
        take_usage(self.proto, data, self.usage)
        choices = data.get("choices") if isinstance(data.get("choices"), list) else []
        ch = choices[0] if choices and isinstance(choices[0], dict) else {}
        delta = _dict(ch.get("delta"))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for c in calls:
                if isinstance(c, dict):
                    slot = self._calls.setdefault(int(c.get("index") or 0), {"name": "", "args": ""})
                    fn = _dict(c.get("function"))
                    slot["name"] += str(fn.get("name") or "")
                    slot["args"] += str(fn.get("arguments") or "")
            self._held.append(raw)
            if not ch.get("finish_reason"):
                return []
        if self._held and (ch.get("finish_reason") or ev.data == "[DONE]"):
            if not isinstance(calls, list):
                self._held.append(raw)
            return self._decide(data, ev.name)
        self._watch(data)
        return [raw]

    def _decide(self, last: dict[str, Any], name: str | None) -> list[bytes]:
        held, calls = self._held, self._calls
        self._held, self._calls = [], {}
        refusals = [r for c in calls.values()
                    if (r := self._refuse(c["name"], commands_in_input(c["args"]))) is not None]
        if not refusals:
            return held
        base = {k: v for k, v in last.items() if k in ("id", "object", "created", "model")}
        text = {**base, "choices": [{"index": 0, "delta": {"content": "\n".join(refusals)},
                                     "finish_reason": None}]}
        stop = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        out = [sse(name, text), sse(name, stop)]
        if held and parse_sse(held[-1]).data == "[DONE]":
            out.append(held[-1])
        return out

    def finish(self) -> list[bytes]:
        held, self._held = self._held, []
        return held

    def whole(self, body: Any) -> Any:
        take_usage(self.proto, body, self.usage)
        try:
            msg = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            return body
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        if not isinstance(calls, list):
            return body
        refusals = [r for c in calls if isinstance(c, dict)
                    if (r := self._refuse(str((c.get("function") or {}).get("name")),
                                          commands_in_item(c))) is not None]
        if not refusals:
            return body
        new_msg = {"role": "assistant", "content": "\n".join(refusals)}
        return {**body, "choices": [{**body["choices"][0], "message": new_msg,
                                     "finish_reason": "stop"}]}


class OllamaRelay(Relay):
    """Ollama NDJSON: a chunk carries whole `message.tool_calls`."""

    proto: Protocol = "ollama"

    def feed(self, raw: bytes) -> list[bytes]:
        data = parse_ndjson(raw)
        take_usage(self.proto, data, self.usage)
        self._watch(data)
        changed = self.whole_chunk(data)
        if changed is not data:
            return [(json.dumps(changed) + "\n").encode()]
        return [raw]

    def whole_chunk(self, data: Any) -> Any:
        msg = data.get("message") if isinstance(data, dict) else None
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        if not isinstance(calls, list) or not calls:
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
