"""Anthropic Messages (`POST /v1/messages`), as Claude Code consumes it.

The event order follows harness-claude-code.md §9: message_start, (ping), per block
content_block_start / delta / stop, message_delta with usage, message_stop. Claude Code
loses text without content_block_stop and reports "Connection lost" without message_stop,
so every successful stream carries all of them.
"""

from __future__ import annotations

import json
from typing import Any

from laneboard.standins._exchange import Exchange
from laneboard.standins.recorded import ANTHROPIC
from laneboard.standins.replies import Reply

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str, error_type: str | None = None) -> dict[str, Any]:
    kind = error_type or ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def handle_messages(ex: Exchange) -> None:
    body = ex.body_dict()
    reply = ex.next_reply(ANTHROPIC)
    if reply.is_error:
        ex.send_error(reply, error_body)
        return
    model = str(body.get("model") or "claude-standin")
    if body.get("stream") is True:
        _stream(ex, reply, model)
    else:
        _whole(ex, reply, model)


def _usage(ex: Exchange, reply: Reply) -> tuple[int, int]:
    return reply.usage(ex.request.prompt or "")


def _tool_block(reply: Reply) -> dict[str, Any]:
    assert reply.tool is not None
    tool_input = reply.tool.input
    if isinstance(tool_input, str):
        tool_input = {"input": tool_input}
    return {"type": "tool_use", "id": f"toolu_{reply.tool.call_id}", "name": reply.tool.name,
            "input": tool_input}


def _stream(ex: Exchange, reply: Reply, model: str) -> None:
    w = ex.wire
    in_tokens, out_tokens = _usage(ex, reply)
    w.start_stream("text/event-stream")
    w.sse("message_start", {
        "type": "message_start",
        "message": {
            "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": in_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        },
    })
    w.sse("ping", {"type": "ping"})
    index = 0
    has_text = bool(reply.chunks) or reply.tool is None
    if has_text:
        w.sse("content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": {"type": "text", "text": ""}})
        for chunk in reply.stream(ex.stopping):
            w.sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": {"type": "text_delta", "text": chunk}})
        if reply.fails_midstream:
            w.sse("error", error_body(529, reply.error_message, reply.error_type))
            w.end_stream()
            return
        w.sse("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    if reply.tool is not None:
        block = _tool_block(reply)
        w.sse("content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": {**block, "input": {}}})
        w.sse("content_block_delta", {
            "type": "content_block_delta", "index": index,
            "delta": {"type": "input_json_delta",
                      "partial_json": json.dumps(block["input"], ensure_ascii=False)},
        })
        w.sse("content_block_stop", {"type": "content_block_stop", "index": index})
    stop_reason = "tool_use" if reply.tool is not None else "end_turn"
    w.sse("message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                            "usage": {"output_tokens": out_tokens}})
    w.sse("message_stop", {"type": "message_stop"})
    w.end_stream()


def _whole(ex: Exchange, reply: Reply, model: str) -> None:
    if reply.fails_midstream:
        ex.wire.send_json(500, error_body(500, reply.error_message, reply.error_type))
        return
    in_tokens, out_tokens = _usage(ex, reply)
    content: list[dict[str, Any]] = []
    if reply.chunks or reply.tool is None:
        content.append({"type": "text", "text": reply.full_text()})
    if reply.tool is not None:
        content.append(_tool_block(reply))
    ex.wire.send_json(200, {
        "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": in_tokens, "output_tokens": out_tokens},
    })
