"""Stand-in model endpoints for tests and `laneboard demo`: no accounts, no network.

One `StandinServer` on 127.0.0.1 speaks three dialects, each following what the real
clients were observed to need (see /work/shared/reference):

    POST /v1/messages            Anthropic Messages, SSE            (Claude Code)
    POST /v1/responses           OpenAI Responses, SSE              (Codex CLI)
    POST /v1/chat/completions    OpenAI chat completions, SSE/JSON  (llama-server, vLLM…)
    GET  /v1/models, POST /v1/embeddings
    GET  /, /api/version, /api/tags, /api/ps                        (Ollama)
    POST /api/chat, /api/generate (NDJSON), /api/embed, /api/embeddings

Usage::

    with StandinServer(models=["qwen3:7b"]) as s:
        s.script(Reply.text("hello"), Reply.error(429, retry_after=1))
        ...  # point a client at s.url / s.openai_base_url / s.ollama_host
        assert s.last_prompt("ollama") == "hi"

Stdlib only, so the demo and the tests need nothing beyond laneboard itself.
"""

from laneboard.standins.embedding import cosine, embed_text
from laneboard.standins.recorded import (
    ANTHROPIC,
    CHAT,
    EMBED,
    OLLAMA,
    RESPONSES,
    RESPONSES_TITLE,
    RecordedRequest,
    extract_prompt,
)
from laneboard.standins.replies import DEGENERATE_TOKEN, Reply, ToolCall
from laneboard.standins.responses import CANNED_TITLE, TITLE_MARKER
from laneboard.standins.server import DEFAULT_MODELS, StandinServer, default_reply

__all__ = [
    "ANTHROPIC",
    "CANNED_TITLE",
    "CHAT",
    "DEFAULT_MODELS",
    "DEGENERATE_TOKEN",
    "EMBED",
    "OLLAMA",
    "RESPONSES",
    "RESPONSES_TITLE",
    "TITLE_MARKER",
    "RecordedRequest",
    "Reply",
    "StandinServer",
    "ToolCall",
    "cosine",
    "default_reply",
    "embed_text",
    "extract_prompt",
]
