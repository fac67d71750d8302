"""What the stand-in saw: one record per HTTP request, and "the user's prompt" per dialect.

Tests assert on what really crossed the wire (headers, JSON body, the prompt as the CLI sent
it), so a record keeps the raw bytes too. Prompt extraction follows each client's real
request shape; in particular Claude Code may end `messages` with a `system` message, so the
prompt is the last text block of the last *user* message, not `messages[-1]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Dialect names; also the names of the reply queues (see `StandinServer.script`).
ANTHROPIC = "anthropic"
RESPONSES = "responses"
RESPONSES_TITLE = "responses-title"
CHAT = "chat"
OLLAMA = "ollama"
EMBED = "embed"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received. `headers` has lower-cased names; `body` is the parsed JSON
    (None when absent or not JSON); `dialect` is None for probes such as `GET /api/tags`.
    `received` and `finished` are `time.monotonic()` readings: when the request was read,
    and when its response was complete (None while it streams, or if the client left) —
    so a test can tell whether two calls overlapped."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""
    body: Any = None
    dialect: str | None = None
    received: float = 0.0
    finished: float | None = None

    @property
    def prompt(self) -> str | None:
        """The user's prompt for this request's dialect, or None if there is none."""
        return extract_prompt(self.dialect, self.body)

    @property
    def model(self) -> str | None:
        if isinstance(self.body, dict):
            model = self.body.get("model")
            return model if isinstance(model, str) else None
        return None


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body, or None if it is empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def extract_prompt(dialect: str | None, body: Any) -> str | None:
    """The user's prompt in a request body of the given dialect."""
    if not isinstance(body, dict):
        return None
    if dialect == ANTHROPIC:
        return _last_user_text(body.get("messages"), ("text",))
    if dialect in (RESPONSES, RESPONSES_TITLE):
        return responses_prompt(body)
    if dialect == CHAT:
        return _last_user_text(body.get("messages"), ("text",))
    if dialect == OLLAMA:
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            return prompt
        return _last_user_text(body.get("messages"), ("text",))
    if dialect == EMBED:
        value = body.get("input", body.get("prompt"))
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return "\n".join(v for v in value if isinstance(v, str))
    return None


def responses_prompt(body: dict[str, Any]) -> str | None:
    """Last `input_text` of the last `role: user` message in a Responses `input`."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    return _last_user_text(items, ("input_text", "text"))


def _last_user_text(messages: Any, block_types: tuple[str, ...]) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        if message.get("type", "message") != "message":
            continue
        text = _last_text(message.get("content"), block_types)
        if text is not None:
            return text
    return None


def _last_text(content: Any, block_types: tuple[str, ...]) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    for block in reversed(content):
        if isinstance(block, dict) and block.get("type") in block_types:
            text = block.get("text")
            if isinstance(text, str):
                return text
    return None
