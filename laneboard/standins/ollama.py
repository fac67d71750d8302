"""Ollama's native API (`/api/*`), following harness-ollama.md §2-3 and §6.

Streams are `application/x-ndjson`: one complete JSON object per line, the last with
`done: true`, `done_reason` and the counters (durations in nanoseconds). `stream` missing
means true, the server's default (the Python client always sends it explicitly). An
unknown model is a 404 `{"error": "model 'x' not found"}`; a scripted mid-stream failure is
one more line `{"error": …}` with the HTTP status still 200, as the real server does.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from laneboard.standins._exchange import Exchange
from laneboard.standins.embedding import embed_text
from laneboard.standins.recorded import EMBED, OLLAMA
from laneboard.standins.replies import Reply

VERSION = "0.12.6"


def canonical(name: str) -> str:
    """`qwen3` and `qwen3:latest` are the same model."""
    return name if ":" in name else f"{name}:latest"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _model_entry(name: str) -> dict[str, Any]:
    family = name.split(":", 1)[0]
    return {
        "name": canonical(name), "model": canonical(name), "modified_at": _now(),
        "size": 4_683_087_332, "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {"format": "gguf", "family": family, "families": [family],
                    "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
    }


def handle_root(ex: Exchange) -> None:
    ex.wire.send_text(200, "Ollama is running")


def handle_version(ex: Exchange) -> None:
    ex.wire.send_json(200, {"version": VERSION})


def handle_tags(ex: Exchange) -> None:
    ex.wire.send_json(200, {"models": [_model_entry(m) for m in ex.models]})


def handle_ps(ex: Exchange) -> None:
    ex.wire.send_json(200, {"models": []})


def _check_model(ex: Exchange) -> str | None:
    """The requested model if it is pulled; otherwise answers 400/404 and returns None."""
    model = ex.body_dict().get("model")
    if ex.request.body is None:
        ex.wire.send_json(400, {"error": "missing request body"})
        return None
    if not isinstance(model, str) or not model:
        ex.wire.send_json(400, {"error": "model is required"})
        return None
    if canonical(model) not in {canonical(m) for m in ex.models}:
        ex.wire.send_json(404, {"error": f"model '{model}' not found"})
        return None
    return model


def _send_error(ex: Exchange, reply: Reply) -> None:
    ex.wire.send_json(reply.status, {"error": reply.error_message}, ex.retry_headers(reply))


def handle_chat(ex: Exchange) -> None:
    _generate(ex, chat=True)


def handle_generate(ex: Exchange) -> None:
    _generate(ex, chat=False)


def _generate(ex: Exchange, *, chat: bool) -> None:
    model = _check_model(ex)
    if model is None:
        return
    reply = ex.next_reply(OLLAMA)
    if reply.is_error:
        _send_error(ex, reply)
        return
    inp, out = reply.usage(ex.request.prompt or "")

    def piece(text: str, *, done: bool, tools: bool = False) -> dict[str, Any]:
        obj: dict[str, Any] = {"model": model, "created_at": _now()}
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if tools and reply.tool is not None:
                args = reply.tool.input
                message["tool_calls"] = [{"function": {
                    "name": reply.tool.name,
                    "arguments": args if isinstance(args, dict) else {"input": args}}}]
            obj["message"] = message
        else:
            obj["response"] = text
        obj["done"] = done
        if done:
            obj.update({"done_reason": "stop", "total_duration": 174_560_334,
                        "load_duration": 101_397_084, "prompt_eval_count": inp,
                        "prompt_eval_duration": 13_074_791, "eval_count": out,
                        "eval_duration": 52_479_709})
        return obj

    if ex.body_dict().get("stream", True) is False:
        if reply.fails_midstream:
            ex.wire.send_json(500, {"error": reply.error_message})
            return
        ex.wire.send_json(200, piece(reply.full_text(), done=True, tools=True))
        return
    w = ex.wire
    w.start_stream("application/x-ndjson")
    for chunk in reply.stream(ex.stopping):
        w.ndjson(piece(chunk, done=False))
    if reply.fails_midstream:
        w.ndjson({"error": reply.error_message})
        w.end_stream()
        return
    if reply.tool is not None:
        w.ndjson(piece("", done=False, tools=True))
    w.ndjson(piece("", done=True))
    w.end_stream()


def handle_embed(ex: Exchange) -> None:
    """`/api/embed` (list of vectors, always) and legacy `/api/embeddings` (one vector)."""
    legacy = ex.request.path == "/api/embeddings"
    model = _check_model(ex)
    if model is None:
        return
    reply = ex.next_reply(EMBED)
    if reply.is_error:
        _send_error(ex, reply)
        return
    body = ex.body_dict()
    raw = body.get("prompt") if legacy else body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        ex.wire.send_json(400, {"error": "invalid input type"})
        return
    dims = body.get("dimensions")
    size = dims if isinstance(dims, int) and dims > 0 else None
    vectors = [embed_text(t, size) for t in texts]
    if legacy:
        ex.wire.send_json(200, {"embedding": vectors[0] if vectors else []})
        return
    started = time.monotonic_ns()
    ex.wire.send_json(200, {
        "model": model, "embeddings": vectors,
        "total_duration": max(1, time.monotonic_ns() - started), "load_duration": 1_019_500,
        "prompt_eval_count": sum(len(t.split()) for t in texts),
    })
