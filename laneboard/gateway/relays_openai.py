"""The OpenAI relays: Responses (what Codex speaks) and Chat Completions.

Responses holds a call item from `response.output_item.added` to its `done`; Chat holds
`tool_calls` deltas until the finish chunk. A held call whose tool is routed is answered
by the routed model (`relay_base`): the item (Responses) keeps its `id`, `call_id`, name
and type and gets the routed model's `arguments` / `input`; the Chat call keeps its
`id` and index. The fence then judges the call as the CLI will get it; a denied one is
replaced by a message carrying the refusal (and the final `response.completed` output,
which Codex reads too, is patched the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from laneboard.gateway.framing import parse_sse, sse
from laneboard.gateway.protocols import Protocol, take_usage
from laneboard.gateway.registry import ToolRoute
from laneboard.gateway.relay_base import PendingCall, Relay, as_dict
from laneboard.gateway.wire_fence import WireFence, commands_in_input, commands_in_item


def _message_item(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _payload_key(kind: str) -> str:
    return "input" if kind == "custom_tool_call" else "arguments"


def _item_key(item: dict[str, Any]) -> str:
    return str(item.get("id") or item.get("call_id"))


class ResponsesRelay(Relay):
    proto: Protocol = "responses"
    CALLS = ("function_call", "custom_tool_call", "local_shell_call")
    ROUTED_KINDS = ("function_call", "custom_tool_call")

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
        item = as_dict(data.get("item"))
        if t == "response.output_item.added" and item.get("type") in self.CALLS:
            self._held[int(idx or 0)] = [raw]
            return []
        if isinstance(idx, int) and idx in self._held:
            self._held[idx].append(raw)
            if t != "response.output_item.done":
                return []
            held = self._held.pop(idx)
            kind = str(item.get("type"))
            name = str(item.get("name") or kind)
            key = _payload_key(kind)
            route = self.route_of(name) if kind in self.ROUTED_KINDS else None
            if route is not None and isinstance(item.get(key), str):
                call = PendingCall(name, route, item, held, item[key], kind, key)
                return self._route_calls(
                    [call], lambda answers: self._substitute(idx, answers[0]))
            return self._settle(idx, item, held)
        if t in ("response.completed", "response.incomplete") and self._replaced:
            data = self._patch_response(data)
            return [sse(ev.name, data)]
        self._watch(data)
        return [raw]

    def _substitute(self, idx: int, answer: tuple[PendingCall, Any]) -> list[bytes]:
        """The routed model's input in the primary's item (same id, call id, name)."""
        p, new_input = answer
        if new_input is None:
            return self._settle(idx, p.block, p.held)
        item = {**p.block, p.key: new_input, "status": "completed"}
        self._replaced[_item_key(item)] = item
        added = {**item, p.key: "", "status": "in_progress"}
        held = [
            sse("response.output_item.added", {"type": "response.output_item.added",
                                               "output_index": idx, "item": added}),
            sse("response.output_item.done", {"type": "response.output_item.done",
                                              "output_index": idx, "item": item}),
        ]
        return self._settle(idx, item, held)

    def _settle(self, idx: int, item: dict[str, Any], held: list[bytes]) -> list[bytes]:
        """The fence judges the call that goes to the CLI: pass it, or refuse it."""
        refusal = self._refuse(str(item.get("name") or item.get("type")),
                               commands_in_item(item))
        if refusal is None:
            return held
        msg = _message_item(f"msg_refused_{idx}", refusal)
        self._replaced[_item_key(item)] = msg
        return [
            sse("response.output_item.added", {"type": "response.output_item.added",
                                               "output_index": idx, "item": msg}),
            sse("response.output_item.done", {"type": "response.output_item.done",
                                              "output_index": idx, "item": msg}),
        ]

    def _patch_response(self, data: dict[str, Any]) -> dict[str, Any]:
        resp = data.get("response")
        if not isinstance(resp, dict) or not isinstance(resp.get("output"), list):
            return data
        out = [self._replaced.get(_item_key(i), i) if isinstance(i, dict) else i
               for i in resp["output"]]
        return {**data, "response": {**resp, "output": out}}

    def finish(self) -> list[bytes]:
        held = [raw for chunk in self._held.values() for raw in chunk]
        self._held = {}
        return held

    def whole_calls(self, body: Any) -> list[PendingCall]:
        out: list[PendingCall] = []
        items = body.get("output") if isinstance(body, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("type") not in self.ROUTED_KINDS:
                continue
            kind = str(item["type"])
            key = _payload_key(kind)
            route = self.route_of(str(item.get("name") or ""))
            if route is not None and isinstance(item.get(key), str):
                out.append(PendingCall(str(item.get("name")), route, item, [], item[key],
                                       kind, key))
        return out

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
        delta = as_dict(ch.get("delta"))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for c in calls:
                if isinstance(c, dict):
                    slot = self._calls.setdefault(int(c.get("index") or 0),
                                                  {"name": "", "args": "", "id": ""})
                    fn = as_dict(c.get("function"))
                    slot["name"] += str(fn.get("name") or "")
                    slot["args"] += str(fn.get("arguments") or "")
                    slot["id"] = slot["id"] or str(c.get("id") or "")
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
        routed = [PendingCall(c["name"], r, c, [], c["args"], "function", "args")
                  for c in calls.values() if (r := self.route_of(c["name"])) is not None]
        if routed:
            return self._route_calls(
                routed, lambda answers: self._settle(last, name, held, calls, answers))
        return self._settle(last, name, held, calls, [])

    def _settle(self, last: dict[str, Any], name: str | None, held: list[bytes],
                calls: dict[int, dict[str, str]],
                answers: list[tuple[PendingCall, Any]]) -> list[bytes]:
        substituted = False
        for p, new_input in answers:
            if isinstance(new_input, str):
                p.block["args"] = new_input
                substituted = True
        refusals = [r for c in calls.values()
                    if (r := self._refuse(c["name"], commands_in_input(c["args"]))) is not None]
        done = held[-1] if held and parse_sse(held[-1]).data == "[DONE]" else None
        base = {k: v for k, v in last.items() if k in ("id", "object", "created", "model")}
        if refusals:
            text = {**base, "choices": [{"index": 0, "delta": {"content": "\n".join(refusals)},
                                         "finish_reason": None}]}
            stop = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            return [sse(name, text), sse(name, stop)] + ([done] if done else [])
        if not substituted:
            return held
        # the calls as the routed model made them, under the primary's ids and indexes,
        # then the primary's finish chunk without its own call deltas
        tool_calls = [{"index": i, "id": c["id"], "type": "function",
                       "function": {"name": c["name"], "arguments": c["args"]}}
                      for i, c in sorted(calls.items())]
        out = [sse(name, {**base, "choices": [{"index": 0, "delta": {"tool_calls": tool_calls},
                                               "finish_reason": None}]})]
        choices = last.get("choices")
        ch = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(ch, dict) and ch.get("finish_reason"):
            delta = {k: v for k, v in as_dict(ch.get("delta")).items() if k != "tool_calls"}
            out.append(sse(name, {**last, "choices": [{**ch, "delta": delta}]}))
        return out + ([done] if done else [])

    def finish(self) -> list[bytes]:
        held, self._held = self._held, []
        return held

    def whole_calls(self, body: Any) -> list[PendingCall]:
        try:
            calls = body["choices"][0]["message"]["tool_calls"]
        except (KeyError, IndexError, TypeError):
            return []
        out: list[PendingCall] = []
        for c in calls if isinstance(calls, list) else []:
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("arguments"), str):
                continue
            route = self.route_of(str(fn.get("name") or ""))
            if route is not None:
                out.append(PendingCall(str(fn.get("name")), route, fn, [], fn["arguments"],
                                       "function", "arguments"))
        return out

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
