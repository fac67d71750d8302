"""A harness for any OpenAI-compatible chat endpoint (llama-server, vLLM, LM Studio, gateways).

Streams `POST {base}/chat/completions` with `stream_options.include_usage`, because that is
the only way a streamed reply carries token counts. Base URL: `spec.base_url`, else
`$OPENAI_BASE_URL`, else llama-server's default `http://127.0.0.1:8080/v1`; a base URL with
no path gets `/v1` appended (`http://host:8080` → `http://host:8080/v1`), any other path
(`https://openrouter.ai/api/v1`) is used as given.

The API key is read from the variable `spec.api_key_env` names (the lane's `env` first,
then the process environment) and sent only as `Authorization: Bearer`; it is never logged
and never part of an error message.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from laneboard.errors import ProviderError
from laneboard.harnesses.base import Usage
from laneboard.harnesses.http_harness import HttpHarness, Message, TurnStream

DEFAULT_URL = "http://127.0.0.1:8080/v1"


def openai_base_url(url: str | None) -> str:
    if not url or not url.strip():
        return DEFAULT_URL
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if urlsplit(url).path not in ("", "/") else f"{url}/v1"


class OpenAIHttpHarness(HttpHarness):
    """Drives one lane over `/v1/chat/completions`; also lists models and embeds."""

    kind = "openai"
    service = "OpenAI-compatible endpoint"
    unreachable_hint = "start the server (llama-server, vLLM, LM Studio) or fix the provider's base_url"

    def resolve_base_url(self) -> str:
        return openai_base_url(self.spec.base_url or os.environ.get("OPENAI_BASE_URL"))

    def headers(self) -> dict[str, str]:
        name = self.spec.api_key_env
        if not name:
            return {}
        key = self.spec.env.get(name) or os.environ.get(name)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def models(self) -> list[str]:
        """Model ids the endpoint serves (`GET /models`)."""
        data = await self.request_json("GET", "/models", deadline=self.probe_timeout)
        items = data.get("data", []) if isinstance(data, dict) else []
        return [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]

    async def probe(self) -> str:
        names = await self.models()
        return f"{len(names)} model(s) at {self.base_url}"

    async def embed(self, texts: list[str], *, model: str | None = None) -> list[list[float]]:
        """One vector per text (`POST /embeddings`), in input order."""
        if not texts:
            return []
        body: dict[str, Any] = {"input": texts}
        if model or self.spec.model:
            body["model"] = model or self.spec.model
        data = await self.request_json("POST", "/embeddings", json_body=body)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) != len(texts):
            raise ProviderError(f"{self.service} at {self.base_url} returned a malformed "
                                "embeddings list", kind="server")
        ordered = sorted(items, key=lambda d: int(d.get("index", 0)))
        return [[float(x) for x in d["embedding"]] for d in ordered]

    async def stream_chat(self, messages: list[Message], turn: TurnStream) -> None:
        body: dict[str, Any] = {"messages": messages, "stream": True,
                                "stream_options": {"include_usage": True}}
        if self.spec.model:
            body["model"] = self.spec.model
        # Chat Completions names the cap `max_tokens` (OpenAI's own newer models also take
        # `max_completion_tokens`, which the OpenAI-compatible servers — vLLM, llama.cpp,
        # LiteLLM — do not all know; `max_tokens` is the name all of them accept).
        if self.spec.temperature is not None:
            body["temperature"] = self.spec.temperature
        if self.spec.max_output_tokens is not None:
            body["max_tokens"] = self.spec.max_output_tokens
        url = self.url("/chat/completions")
        async with self.translated(url), self.client().stream("POST", url, json=body) as resp:
            if resp.status_code >= 400:
                self.raise_for(resp.status_code, await resp.aread(), resp)
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, `event:` lines
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                self._handle(url, payload, turn)
        raise ProviderError(f"{self.service} at {url}: the stream ended without `data: [DONE]`",
                            kind="server")

    def _handle(self, url: str, payload: str, turn: TurnStream) -> None:
        try:
            obj = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ProviderError(f"{self.service} at {url} sent an event that is not JSON: "
                                f"{payload[:80]!r}", kind="server") from exc
        if not isinstance(obj, dict):
            return
        if "error" in obj:
            err = obj["error"]
            msg = err.get("message") if isinstance(err, dict) else err
            raise ProviderError(f"{self.service} at {url} failed mid-stream "
                                f"(model {self.spec.model}): {msg}", kind="server")
        usage = obj.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details")
            cached = details.get("cached_tokens") if isinstance(details, dict) else 0
            turn.usage = Usage(input_tokens=int(usage.get("prompt_tokens") or 0),
                               output_tokens=int(usage.get("completion_tokens") or 0),
                               cached_tokens=int(cached or 0))
        for choice in obj.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                if delta.get("tool_calls"):
                    turn.extra.setdefault("tool_calls", []).extend(delta["tool_calls"])  # type: ignore[attr-defined]
                content = delta.get("content")
                if isinstance(content, str):
                    turn.feed(content)
            if choice.get("finish_reason"):
                turn.extra["finish_reason"] = choice["finish_reason"]
