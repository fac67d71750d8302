"""OpenAI Responses (`POST /v1/responses`), as Codex CLI consumes it.

Codex only completes a turn on `response.output_item.done` carrying the complete item
followed by `response.completed`; a stream that ends without `response.completed` is
retried and its message duplicated. So every stream ends with `response.completed`, or,
for a scripted mid-stream failure, with `response.failed` (harness-codex.md §7).

Codex's interactive mode sends a second, parallel request for a thread title ("Generate a
concise, single-line task title…"). It is answered with a canned title and never consumes
the scripted queue, so a test's script stays aligned with the real turns.
"""

from __future__ import annotations

import json
from typing import Any

from laneboard.standins._exchange import Exchange
from laneboard.standins.openai_errors import error_body
from laneboard.standins.recorded import RESPONSES
from laneboard.standins.replies import Reply

TITLE_MARKER = "Generate a concise, single-line task title"
CANNED_TITLE = "Stand-in task"


def is_title_request(body: Any) -> bool:
    """Whether a Responses body is Codex's parallel title request."""
    if not isinstance(body, dict):
        return False
    items = body.get("input")
    texts: list[str] = []
    if isinstance(items, str):
        texts.append(items)
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict) or item.get("role") != "user":
                continue
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(
                    str(b.get("text", "")) for b in content if isinstance(b, dict)
                )
    return any(t.lstrip().startswith(TITLE_MARKER) for t in texts)


def title_text(body: dict[str, Any]) -> str:
    """The canned title, as JSON when the request asks for a JSON-schema output."""
    fmt = body.get("text")
    fmt = fmt.get("format") if isinstance(fmt, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict) and props:
            return json.dumps({name: CANNED_TITLE for name in props})
        return json.dumps({"title": CANNED_TITLE})
    return CANNED_TITLE


def handle_responses(ex: Exchange, *, title: bool = False) -> None:
    body = ex.body_dict()
    reply = Reply.text(title_text(body)) if title else ex.next_reply(RESPONSES)
    if reply.is_error:
        ex.send_error(reply, error_body)
        return
    if body.get("stream") is False:  # a whole response (e.g. the gateway's routed call)
        _whole(ex, reply, str(body.get("model") or "standin"))
        return
    _Stream(ex, reply, str(body.get("model") or "standin")).run()


def _whole(ex: Exchange, reply: Reply, model: str) -> None:
    if reply.fails_midstream:
        ex.wire.send_json(500, error_body(500, reply.error_message, reply.error_type))
        return
    output: list[dict[str, Any]] = []
    text = reply.full_text()
    if text or reply.tool is None:
        output.append({"type": "message", "id": "msg_standin", "role": "assistant",
                       "status": "completed",
                       "content": [{"type": "output_text", "text": text, "annotations": []}]})
    if reply.tool is not None:
        output.append(_tool_item(reply, "completed"))
    inp, out = reply.usage(ex.request.prompt or "")
    ex.wire.send_json(200, {
        "id": "resp_standin", "object": "response", "model": model, "status": "completed",
        "output": output,
        "usage": {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": inp + out},
    })


def _tool_item(reply: Reply, status: str) -> dict[str, Any]:
    """The reply's call as a Responses output item: freeform (`custom_tool_call`), or a
    `function_call` for a function tool or one inside a namespace."""
    tool = reply.tool
    assert tool is not None
    payload = tool.input if isinstance(tool.input, str) else json.dumps(tool.input)
    if tool.namespace is not None or tool.function:
        item: dict[str, Any] = {"type": "function_call", "id": "fc_standin",
                                "call_id": tool.call_id, "name": tool.name,
                                "arguments": payload, "status": status}
        if tool.namespace is not None:
            item["namespace"] = tool.namespace
        return item
    return {"type": "custom_tool_call", "id": "ctc_standin", "call_id": tool.call_id,
            "name": tool.name, "input": payload, "status": status}


class _Stream:
    """One Responses SSE stream; numbers events like the real API (`sequence_number`)."""

    def __init__(self, ex: Exchange, reply: Reply, model: str) -> None:
        self.ex = ex
        self.reply = reply
        self.model = model
        self.seq = 0
        self.output: list[dict[str, Any]] = []

    def emit(self, kind: str, **fields: Any) -> None:
        self.ex.wire.sse(kind, {"type": kind, "sequence_number": self.seq, **fields})
        self.seq += 1

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"id": "resp_standin", "object": "response", "model": self.model,
                "status": status, "output": list(self.output), **extra}

    def run(self) -> None:
        self.ex.wire.start_stream("text/event-stream")
        self.emit("response.created", response=self.response("in_progress"))
        self.emit("response.in_progress", response=self.response("in_progress"))
        if (self.reply.chunks or self.reply.tool is None) and not self._message():
            self.ex.wire.end_stream()
            return
        if self.reply.tool is not None:
            self._tool()
        inp, out = self.reply.usage(self.ex.request.prompt or "")
        usage = {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": inp + out}
        self.emit("response.completed", response=self.response("completed", usage=usage))
        self.ex.wire.end_stream()

    def _message(self) -> bool:
        """Stream the text message item; False if the script fails it mid-stream."""
        index = len(self.output)
        item_id = "msg_standin"
        item: dict[str, Any] = {"type": "message", "id": item_id, "role": "assistant",
                                "status": "in_progress", "content": []}
        self.emit("response.output_item.added", output_index=index, item=item)
        part = {"type": "output_text", "text": "", "annotations": []}
        self.emit("response.content_part.added", item_id=item_id, output_index=index,
                  content_index=0, part=part)
        text: list[str] = []
        for chunk in self.reply.stream(self.ex.stopping):
            text.append(chunk)
            self.emit("response.output_text.delta", item_id=item_id, output_index=index,
                      content_index=0, delta=chunk)
        if self.reply.fails_midstream:
            error = {"code": "server_error", "message": self.reply.error_message}
            self.emit("response.failed", response=self.response("failed", error=error))
            return False
        full = "".join(text)
        self.emit("response.output_text.done", item_id=item_id, output_index=index,
                  content_index=0, text=full)
        done_part = {"type": "output_text", "text": full, "annotations": []}
        self.emit("response.content_part.done", item_id=item_id, output_index=index,
                  content_index=0, part=done_part)
        done = {**item, "status": "completed", "content": [done_part]}
        self.output.append(done)
        self.emit("response.output_item.done", output_index=index, item=done)
        return True

    def _tool(self) -> None:
        index = len(self.output)
        done = _tool_item(self.reply, "completed")
        key = "arguments" if done["type"] == "function_call" else "input"
        item = {**done, key: "", "status": "in_progress"}
        self.emit("response.output_item.added", output_index=index, item=item)
        self.output.append(done)
        self.emit("response.output_item.done", output_index=index, item=done)
