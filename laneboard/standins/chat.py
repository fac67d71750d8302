"""OpenAI chat completions (`/v1/chat/completions`), `/v1/models`, `/v1/embeddings`.

This is the dialect of llama-server, vLLM, LM Studio and Ollama's `/v1` routes. Streams are
`data: {chat.completion.chunk}` lines ending in `data: [DONE]`; the usage chunk (empty
`choices`) comes only when the client asked for `stream_options.include_usage`, as with
the real API, so a harness that forgets to ask is caught by its tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

from laneboard.standins._exchange import Exchange
from laneboard.standins.embedding import embed_text
from laneboard.standins.openai_errors import error_body
from laneboard.standins.recorded import CHAT, EMBED
from laneboard.standins.replies import Reply


def handle_models(ex: Exchange) -> None:
    created = int(time.time())
    data = [{"id": m, "object": "model", "created": created, "owned_by": "laneboard-standin"}
            for m in ex.models]
    ex.wire.send_json(200, {"object": "list", "data": data})


def handle_chat(ex: Exchange) -> None:
    body = ex.body_dict()
    reply = ex.next_reply(CHAT)
    if reply.is_error:
        ex.send_error(reply, error_body)
        return
    model = str(body.get("model") or "standin")
    inp, out = reply.usage(ex.request.prompt or "")
    usage = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
    if body.get("stream") is True:
        opts = body.get("stream_options")
        with_usage = isinstance(opts, dict) and opts.get("include_usage") is True
        _stream(ex, reply, model, usage if with_usage else None)
        return
    if reply.fails_midstream:
        ex.wire.send_json(500, error_body(500, reply.error_message, reply.error_type))
        return
    message: dict[str, Any] = {"role": "assistant", "content": reply.full_text()}
    if reply.tool is not None:
        message["tool_calls"] = [_tool_call(reply)]
    ex.wire.send_json(200, {
        "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
        "usage": usage,
    })


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool is not None else "stop"


def _tool_call(reply: Reply) -> dict[str, Any]:
    tool = reply.tool
    assert tool is not None
    args = tool.input if isinstance(tool.input, str) else json.dumps(tool.input)
    return {"id": tool.call_id, "type": "function",
            "function": {"name": tool.name, "arguments": args}}


def _stream(ex: Exchange, reply: Reply, model: str, usage: dict[str, int] | None) -> None:
    w = ex.wire
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-standin", "object": "chat.completion.chunk",
                "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    w.start_stream("text/event-stream")
    w.sse(None, chunk({"role": "assistant", "content": ""}))
    for piece in reply.stream(ex.stopping):
        w.sse(None, chunk({"content": piece}))
    if reply.fails_midstream:
        w.sse(None, error_body(500, reply.error_message, reply.error_type))
        w.sse(None, "[DONE]")
        w.end_stream()
        return
    if reply.tool is not None:
        w.sse(None, chunk({"tool_calls": [{"index": 0, **_tool_call(reply)}]}))
    w.sse(None, chunk({}, _finish(reply)))
    if usage is not None:
        w.sse(None, {"id": "chatcmpl-standin", "object": "chat.completion.chunk",
                     "created": created, "model": model, "choices": [], "usage": usage})
    w.sse(None, "[DONE]")
    w.end_stream()


def handle_embeddings(ex: Exchange) -> None:
    body = ex.body_dict()
    reply = ex.next_reply(EMBED)
    if reply.is_error:
        ex.send_error(reply, error_body)
        return
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        ex.wire.send_json(400, error_body(400, "input must be a string or a list of strings"))
        return
    dims = body.get("dimensions")
    size = dims if isinstance(dims, int) and dims > 0 else None
    data = [{"object": "embedding", "index": i, "embedding": embed_text(t, size)}
            for i, t in enumerate(texts)]
    tokens = sum(len(t.split()) for t in texts)
    ex.wire.send_json(200, {"object": "list", "data": data,
                            "model": str(body.get("model") or "standin"),
                            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
