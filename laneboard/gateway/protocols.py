"""What differs between the wire protocols the gateway relays.

Four protocols pass through: Anthropic Messages (`…/v1/messages`, SSE), OpenAI Responses
(`…/responses`, SSE), OpenAI Chat Completions (`…/chat/completions`, SSE ending in
`[DONE]`) and Ollama (`/api/chat`, `/api/generate`, NDJSON). The path says which one; from
there this module knows where each puts its token counts and how each expects an error,
so a failure the gateway itself reports reads to the CLI like its provider's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

Protocol = Literal["anthropic", "responses", "chat", "ollama", "other"]


def protocol_of(path: str) -> Protocol:
    # the server hands the path below `/l/<token>/` without its leading slash: an Ollama
    # lane's `api/chat` must still end with `/api/chat`
    p = "/" + path.strip("/")
    if p.endswith("/messages"):
        return "anthropic"
    if p.endswith("/responses"):
        return "responses"
    if p.endswith("/chat/completions"):
        return "chat"
    if p.endswith("/api/chat") or p.endswith("/api/generate"):
        return "ollama"
    return "other"


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    seen: bool = False


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def take_usage(proto: Protocol, data: Any, usage: Usage) -> None:
    """Fold one event's (or one whole body's) usage fields into `usage`."""
    if not isinstance(data, dict):
        return
    if proto == "anthropic":
        u = data.get("usage")
        if data.get("type") == "message_start" and isinstance(data.get("message"), dict):
            u = data["message"].get("usage")
        if isinstance(u, dict):
            usage.seen = True
            if "input_tokens" in u:
                usage.input_tokens = _int(u["input_tokens"]) + _int(
                    u.get("cache_creation_input_tokens"))
                usage.cache_read = _int(u.get("cache_read_input_tokens"))
            if "output_tokens" in u:
                usage.output_tokens = _int(u["output_tokens"])  # cumulative in message_delta
    elif proto == "responses":
        resp = data.get("response") if "response" in data else data
        u = resp.get("usage") if isinstance(resp, dict) else None
        if isinstance(u, dict):
            usage.seen = True
            cached = u.get("input_tokens_details")
            usage.cache_read = _int(cached.get("cached_tokens")) if isinstance(cached, dict) else 0
            usage.input_tokens = _int(u.get("input_tokens")) - usage.cache_read
            usage.output_tokens = _int(u.get("output_tokens"))
    elif proto == "chat":
        u = data.get("usage")
        if isinstance(u, dict):
            usage.seen = True
            usage.input_tokens = _int(u.get("prompt_tokens"))
            usage.output_tokens = _int(u.get("completion_tokens"))
    elif proto == "ollama" and data.get("done") is True:
        usage.seen = True
        usage.input_tokens = _int(data.get("prompt_eval_count"))
        usage.output_tokens = _int(data.get("eval_count"))


def text_of(proto: Protocol, data: Any) -> str:
    """The model's text in one stream event (for the repetition watchdog)."""
    if not isinstance(data, dict):
        return ""
    if proto == "anthropic":
        d = data.get("delta")
        return str(d.get("text", "")) if isinstance(d, dict) else ""
    if proto == "responses":
        return str(data.get("delta", "")) if data.get("type") == "response.output_text.delta" else ""
    if proto == "chat":
        ch = data.get("choices")
        if isinstance(ch, list) and ch and isinstance(ch[0], dict):
            d = ch[0].get("delta")
            return str(d.get("content") or "") if isinstance(d, dict) else ""
        return ""
    if proto == "ollama":
        m = data.get("message")
        if isinstance(m, dict):
            return str(m.get("content") or "")
        return str(data.get("response") or "")
    return ""


def error_body(proto: Protocol, status: int, message: str) -> tuple[bytes, str]:
    """A JSON error in the protocol's own shape, and its content type."""
    kind = {400: "invalid_request_error", 403: "permission_error", 404: "not_found_error",
            413: "request_too_large", 429: "rate_limit_error"}.get(status, "api_error")
    body: dict[str, Any]
    if proto == "anthropic":
        body = {"type": "error", "error": {"type": kind, "message": message}}
    elif proto == "ollama":
        body = {"error": message}
    else:
        body = {"error": {"message": message, "type": kind, "code": status}}
    return json.dumps(body).encode(), "application/json"


def stream_error(proto: Protocol, message: str) -> bytes:
    """An in-stream error event: the stream already started, so no status can change."""
    if proto == "anthropic":
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return f"event: error\ndata: {json.dumps(data)}\n\n".encode()
    if proto == "responses":
        data = {"type": "response.failed", "response": {"status": "failed", "error": {
            "code": "server_error", "message": message}}}
        return f"event: response.failed\ndata: {json.dumps(data)}\n\n".encode()
    if proto == "ollama":
        return (json.dumps({"error": message}) + "\n").encode()
    return f"data: {json.dumps({'error': {'message': message}})}\n\n".encode()
