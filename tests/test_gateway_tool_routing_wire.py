"""Per-tool routing on every wire protocol, streamed and not (issue #14, item 5).

A real HTTP client talks to the real gateway process (`laneboard gateway run`), which
relays to two stand-ins: the lane's own model and the routed lane's model. For each
protocol (Anthropic Messages, OpenAI Responses, Chat Completions, Ollama /api/chat) and
for `stream: true` and `stream: false`, three requests on one lane check:

1. the primary's `exec_command` call comes back with the ROUTED model's arguments under
   the PRIMARY's call id (the CLI's bookkeeping holds), and the routed stand-in was asked
   once, not streamed, with the tool choice forced to that tool in the protocol's own form
   (Ollama, which has no tool choice, is offered that one tool only);
2. with the routed model's command deny-listed, the response carries the fence's refusal
   and no call: the fence judges the substituted call;
3. with the primary's command deny-listed, the routed call goes through: the primary's
   original call was never what the CLI got.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import RunningGateway

TOOL = "exec_command"
PRIMARY_CMD = "touch primary.txt"
ROUTED_CMD = "touch routed.txt"
KEY = "sk-lane-key-for-wire-tests-0123456789"

#: protocol → (harness, path below the lane URL, stand-in URL, dialect, primary, routed model)
PROTOS: dict[str, tuple[str, str, Callable[[StandinServer], str], str, str]] = {
    "anthropic": ("claude-code", "/v1/messages", lambda s: s.url, "primary-1", "routed-1"),
    "responses": ("codex", "/responses", lambda s: s.openai_base_url, "primary-1", "routed-1"),
    "chat": ("openai", "/chat/completions", lambda s: s.openai_base_url, "primary-1",
             "routed-1"),
    "ollama": ("ollama", "/api/chat", lambda s: s.url, "primary:1b", "routed:1b"),
}


def request_body(proto: str, model: str, stream: bool) -> dict[str, Any]:
    prompt = "write the file"
    params = {"type": "object", "properties": {"cmd": {"type": "string"}}}
    if proto == "anthropic":
        return {"model": model, "max_tokens": 256, "stream": stream,
                "messages": [{"role": "user", "content": prompt}],
                "tools": [{"name": TOOL, "input_schema": params},
                          {"name": "Read", "input_schema": {"type": "object"}}]}
    if proto == "responses":
        return {"model": model, "stream": stream, "tool_choice": "auto",
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": prompt}]}],
                "tools": [{"type": "function", "name": TOOL, "parameters": params}]}
    fn_tools = [{"type": "function", "function": {"name": TOOL, "parameters": params}},
                {"type": "function", "function": {"name": "read_file", "parameters": {}}}]
    body: dict[str, Any] = {"model": model, "stream": stream,
                            "messages": [{"role": "user", "content": prompt}],
                            "tools": fn_tools}
    if proto == "chat" and stream:
        body["stream_options"] = {"include_usage": True}
    return body


def post(url: str, proto: str, body: dict[str, Any]) -> bytes:
    headers = {"content-type": "application/json"}
    if proto == "anthropic":
        headers |= {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    else:
        headers["authorization"] = f"Bearer {KEY}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200
        data: bytes = resp.read()
        return data


def _sse(raw: bytes) -> list[Any]:
    out = []
    for block in raw.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data:"):
                text = line[5:].strip()
                out.append(text if text == "[DONE]" else json.loads(text))
    return out


def the_call(proto: str, raw: bytes, stream: bool) -> tuple[str | None, Any] | None:
    """(call id, arguments as an object) of the one tool call in a response, or None."""
    if not stream:
        body = json.loads(raw)
        if proto == "anthropic":
            calls = [(b["id"], b["input"]) for b in body["content"] if b["type"] == "tool_use"]
        elif proto == "responses":
            calls = [(i["call_id"], json.loads(i["arguments"])) for i in body["output"]
                     if i["type"] == "function_call"]
        elif proto == "chat":
            msg = body["choices"][0]["message"]
            calls = [(c["id"], json.loads(c["function"]["arguments"]))
                     for c in msg.get("tool_calls") or []]
        else:
            calls = [(None, c["function"]["arguments"])
                     for c in body["message"].get("tool_calls") or []]
        assert len(calls) <= 1, calls
        return calls[0] if calls else None
    if proto == "ollama":
        lines = [json.loads(x) for x in raw.decode().splitlines() if x.strip()]
        calls = [(None, c["function"]["arguments"]) for x in lines
                 for c in (x.get("message") or {}).get("tool_calls") or []]
        assert len(calls) <= 1, calls
        return calls[0] if calls else None
    events = _sse(raw)
    if proto == "anthropic":
        ids = [e["content_block"]["id"] for e in events if isinstance(e, dict)
               and e.get("type") == "content_block_start"
               and e["content_block"]["type"] == "tool_use"]
        parts = "".join(e["delta"]["partial_json"] for e in events if isinstance(e, dict)
                        and e.get("type") == "content_block_delta"
                        and e["delta"]["type"] == "input_json_delta")
        assert len(ids) <= 1, ids
        return (ids[0], json.loads(parts)) if ids else None
    if proto == "responses":
        done = [e["item"] for e in events if isinstance(e, dict)
                and e.get("type") == "response.output_item.done"
                and e["item"]["type"] == "function_call"]
        final = [e["response"]["output"] for e in events if isinstance(e, dict)
                 and e.get("type") == "response.completed"]
        assert len(done) <= 1, done
        if not done:
            assert not [i for i in final[0] if i["type"] == "function_call"], final
            return None
        # Codex reads the completed response's output too: it says the same
        assert [i for i in final[0] if i["type"] == "function_call"] == done
        return done[0]["call_id"], json.loads(done[0]["arguments"])
    slots: dict[int, dict[str, str]] = {}
    for e in events:
        if not isinstance(e, dict):
            continue
        for ch in e.get("choices") or []:
            for c in (ch.get("delta") or {}).get("tool_calls") or []:
                slot = slots.setdefault(c["index"], {"id": "", "args": ""})
                slot["id"] = slot["id"] or c.get("id") or ""
                slot["args"] += (c.get("function") or {}).get("arguments") or ""
    assert len(slots) <= 1, slots
    return (slots[0]["id"], json.loads(slots[0]["args"])) if slots else None


def forced(proto: str, body: dict[str, Any]) -> None:
    """The routed stand-in was asked for exactly `TOOL`, in the protocol's own form."""
    assert body["stream"] is False
    if proto == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": TOOL}
    elif proto == "responses":
        assert body["tool_choice"] == {"type": "function", "name": TOOL}
    elif proto == "chat":
        assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL}}
        assert "stream_options" not in body  # the API refuses it without `stream`
    else:
        assert [t["function"]["name"] for t in body["tools"]] == [TOOL]


def _call(cmd: str, call_id: str) -> Reply:
    return Reply.tool_call(TOOL, {"cmd": cmd}, call_id=call_id, function=True)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("proto", list(PROTOS))
def test_routed_call_substituted_under_the_primary_id_and_fenced_as_sent(
    gateway_process: RunningGateway, proto: str, stream: bool
) -> None:
    harness, path, url_of, primary_model, routed_model = PROTOS[proto]
    with StandinServer(models=[primary_model]) as primary, \
            StandinServer(models=[routed_model]) as routed:
        primary.script(*[_call(PRIMARY_CMD, "call_primary") for _ in range(3)])
        routed.script(*[_call(ROUTED_CMD, "call_routed") for _ in range(3)])

        def lane(deny: list[str]) -> str:
            return gateway_process.route(
                "coder", harness, base_url=url_of(primary), deny=deny, secrets=[KEY],
                tools=[{"patterns": ["exec_*"], "lane": "writer", "home": "p",
                        "candidates": [{"base_url": url_of(routed), "model": routed_model,
                                        "provider": "p"}]}])

        # 1. substituted: the routed model's arguments, the primary's call id
        raw = post(lane([]) + path, proto, request_body(proto, primary_model, stream))
        call = the_call(proto, raw, stream)
        assert call is not None, raw
        assert call[1] == {"cmd": ROUTED_CMD}, raw
        primary_id = the_call(proto, _primary_alone(proto, stream), stream)
        assert primary_id is not None and call[0] == primary_id[0]
        asked = routed.calls(proto)
        assert len(asked) == 1
        forced(proto, asked[0].body)
        assert asked[0].body["model"] == routed_model
        assert len(primary.calls(proto)) == 1  # the reasoning turn stays on the primary

        # 2. the fence judges the substituted call: the routed command is refused
        raw = post(lane([ROUTED_CMD]) + path, proto, request_body(proto, primary_model, stream))
        assert the_call(proto, raw, stream) is None, raw
        assert f"fence entry `{ROUTED_CMD}`".encode() in raw

        # 3. ...and not the primary's original, which the CLI never gets
        raw = post(lane([PRIMARY_CMD]) + path, proto, request_body(proto, primary_model, stream))
        call = the_call(proto, raw, stream)
        assert call is not None and call[1] == {"cmd": ROUTED_CMD}, raw
        assert len(routed.calls(proto)) == 3


def _primary_alone(proto: str, stream: bool) -> bytes:
    """What the primary stand-in answers without the gateway (for its call id)."""
    _, path, url_of, model, _ = PROTOS[proto]
    with StandinServer(models=[model]) as direct:
        direct.script(_call(PRIMARY_CMD, "call_primary"))
        return post(url_of(direct) + path, proto, request_body(proto, model, stream))


def test_chat_stream_with_two_routed_calls_asks_for_each_and_keeps_both_ids() -> None:
    """Parallel tool calls in one Chat stream: the relay holds both, asks for one after
    the other (the server loops while `pending`), and sends both under their own ids."""
    from laneboard.gateway.framing import sse
    from laneboard.gateway.registry import Candidate, ToolRoute
    from laneboard.gateway.relays import relay_for
    from laneboard.gateway.wire_fence import WireFence

    route = ToolRoute(("exec_*",), "writer", (Candidate("http://127.0.0.1:9"),))
    relay = relay_for("chat", WireFence([]), [route])
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(None, {**base, "choices": [{"index": 0, "delta": delta,
                                               "finish_reason": finish}]})

    out: list[bytes] = []
    for i, cmd in enumerate(["touch a", "touch b"]):
        out += relay.feed(chunk({"tool_calls": [{
            "index": i, "id": f"call_{i}", "type": "function",
            "function": {"name": TOOL, "arguments": json.dumps({"cmd": cmd})}}]}))
    out += relay.feed(chunk({}, "tool_calls"))
    asked = []
    while relay.pending is not None:
        asked.append(relay.pending.tool_input)
        out += relay.resolve(json.dumps({"cmd": f"routed {len(asked)}"}), "r-1")
    out += relay.feed(sse(None, "[DONE]"))
    assert [json.loads(a)["cmd"] for a in asked] == ["touch a", "touch b"]
    events = _sse(b"".join(out))
    calls = [c for e in events if isinstance(e, dict) for ch in e["choices"]
             for c in (ch.get("delta") or {}).get("tool_calls") or []]
    assert [(c["id"], json.loads(c["function"]["arguments"])["cmd"]) for c in calls] == [
        ("call_0", "routed 1"), ("call_1", "routed 2")]
    assert [ch.get("finish_reason") for e in events if isinstance(e, dict)
            for ch in e["choices"]][-1] == "tool_calls"
    assert events[-1] == "[DONE]"
    assert [r["model"] for r in relay.routed] == ["r-1", "r-1"]
