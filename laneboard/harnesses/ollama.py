"""The Ollama harness: a local helper lane over Ollama's native HTTP API (harness-ollama.md).

Plain httpx rather than the `ollama` client: that client waits forever by default and
raises the builtin `ConnectionError`, while laneboard needs explicit deadlines and its own
error kinds. Streaming `/api/chat` is NDJSON; every line is checked for an `error` key
because a failure mid-stream keeps HTTP status 200.

Where the server is: `spec.base_url`, else `$OLLAMA_HOST` (every form the Ollama CLI
accepts: `host`, `host:port`, `:port`, `http(s)://host[:port][/path]`, `[ipv6]:port`), else
`http://127.0.0.1:11434`.

Memory: the last few exchanges are resent with each prompt (see `http_harness`); pass
`history_turns=0` for stateless single turns (triage, classification).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from laneboard.errors import ProviderError
from laneboard.harnesses.base import TurnResult, Usage
from laneboard.harnesses.http_harness import HttpHarness, Message, TurnStream

DEFAULT_URL = "http://127.0.0.1:11434"


def ollama_base_url(host: str | None) -> str:
    """Normalise an OLLAMA_HOST-style value into a base URL (no trailing slash)."""
    if not host or not host.strip():
        return DEFAULT_URL
    host = host.strip().rstrip("/")
    if "://" in host:
        scheme, rest = host.split("://", 1)
        hostport, slash, path = rest.partition("/")
        default_port = "443" if scheme == "https" else "80"
    else:
        scheme, hostport, slash, path = "http", host, "", ""
        default_port = "11434"
    if hostport.startswith("["):  # [ipv6] or [ipv6]:port
        addr, _, port = hostport[1:].partition("]")
        port = port.lstrip(":") or default_port
        hostport = f"[{addr}]:{port}"
    else:
        name, _, port = hostport.partition(":")
        hostport = f"{name or '127.0.0.1'}:{port or default_port}"
    return f"{scheme}://{hostport}" + (f"/{path}" if slash and path else "")


@dataclass(frozen=True)
class OllamaModel:
    """One entry of `/api/tags`: a model pulled on the server."""

    name: str
    size: int = 0
    digest: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def same_model(a: str, b: str) -> bool:
    """`qwen3` and `qwen3:latest` name the same model."""
    return (a if ":" in a else f"{a}:latest") == (b if ":" in b else f"{b}:latest")


class OllamaHarness(HttpHarness):
    """Drives one Ollama lane: chat turns, one-off generation, embeddings, model listing."""

    kind = "ollama"
    service = "Ollama"
    unreachable_hint = "start it with `ollama serve`, or set the provider's base_url / OLLAMA_HOST"

    def missing_hint(self, model: str | None) -> str:
        return f"pull it with `ollama pull {model}`, or pick a model `ollama list` shows"

    def resolve_base_url(self) -> str:
        if self.spec.base_url:
            return ollama_base_url(self.spec.base_url)
        host = self.spec.env.get("OLLAMA_HOST") or os.environ.get("OLLAMA_HOST")
        return ollama_base_url(host)

    # -- probes and listings ---------------------------------------------------------------

    async def version(self) -> str:
        """The server's version (`GET /api/version`)."""
        data = await self.request_json("GET", "/api/version", deadline=self.probe_timeout)
        return str(data.get("version", "?")) if isinstance(data, dict) else "?"

    async def probe(self) -> str:
        return f"Ollama {await self.version()} at {self.base_url}"

    async def tags(self) -> list[OllamaModel]:
        """The models pulled on the server (`GET /api/tags`)."""
        data = await self.request_json("GET", "/api/tags", deadline=self.probe_timeout)
        models = data.get("models", []) if isinstance(data, dict) else []
        out: list[OllamaModel] = []
        for m in models:
            if not isinstance(m, dict):
                continue
            name = m.get("name") or m.get("model")
            if isinstance(name, str):
                details = m.get("details")
                out.append(OllamaModel(name, int(m.get("size") or 0), str(m.get("digest") or ""),
                                       details if isinstance(details, dict) else {}))
        return out

    async def has_model(self, name: str | None = None) -> bool:
        """Whether `name` (default: the lane's model) is pulled."""
        wanted = name or self._model()
        return any(same_model(m.name, wanted) for m in await self.tags())

    # -- work --------------------------------------------------------------------------------

    def _model(self, model: str | None = None) -> str:
        chosen = model or self.spec.model
        if not chosen:
            raise ProviderError(f"lane {self.spec.lane!r} has no Ollama model configured",
                                kind="bad-request")
        return chosen

    def _options(self, model: str | None = None) -> dict[str, Any]:
        """The configured sampling options, in Ollama's words (`options.temperature`,
        `options.num_predict`), for the lane's own model only: a one-off `generate` on
        another model (triage, embeddings' neighbours) keeps that model's defaults."""
        if model is not None and model != self.spec.model:
            return {}
        options: dict[str, Any] = {}
        if self.spec.temperature is not None:
            options["temperature"] = self.spec.temperature
        if self.spec.max_output_tokens is not None:
            options["num_predict"] = self.spec.max_output_tokens
        return {"options": options} if options else {}

    async def stream_chat(self, messages: list[Message], turn: TurnStream) -> None:
        body = {"model": self._model(), "messages": messages, "stream": True, **self._options()}
        await self._stream("/api/chat", body, turn, chat=True)

    async def generate(self, prompt: str, *, model: str | None = None, system: str | None = None,
                       timeout: float = 600.0) -> TurnResult:
        """One stateless completion (`/api/generate`), streamed and watched like a turn."""
        body: dict[str, Any] = {"model": self._model(model), "prompt": prompt, "stream": True,
                                **self._options(model)}
        if system is not None:
            body["system"] = system
        return await self.run_turn(lambda t: self._stream("/api/generate", body, t, chat=False),
                                   timeout)

    async def embed(self, texts: list[str], *, model: str | None = None) -> list[list[float]]:
        """One vector per text (`/api/embed`), in order."""
        if not texts:
            return []
        data = await self.request_json(
            "POST", "/api/embed", json_body={"model": self._model(model), "input": texts})
        vectors = data.get("embeddings") if isinstance(data, dict) else None
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            raise ProviderError(
                f"Ollama at {self.base_url} returned {len(vectors or [])} embeddings for "
                f"{len(texts)} texts", kind="server")
        return [[float(x) for x in v] for v in vectors]

    async def _stream(self, path: str, body: dict[str, Any], turn: TurnStream, *,
                      chat: bool) -> None:
        url = self.url(path)
        async with self.translated(url), self.client().stream("POST", url, json=body) as resp:
            if resp.status_code >= 400:
                self.raise_for(resp.status_code, await resp.aread(), resp, body["model"])
            async for line in resp.aiter_lines():
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ProviderError(f"Ollama at {url} sent a line that is not JSON: "
                                        f"{line[:80]!r}", kind="server") from exc
                if not isinstance(obj, dict):
                    continue
                if "error" in obj:
                    raise ProviderError(f"Ollama at {url} failed mid-stream "
                                        f"(model {body['model']}): {obj['error']}",
                                        kind="server", status=resp.status_code)
                if chat:
                    message = obj.get("message")
                    text = message.get("content", "") if isinstance(message, dict) else ""
                    calls = message.get("tool_calls") if isinstance(message, dict) else None
                    if calls:
                        turn.extra["tool_calls"] = calls
                else:
                    text = obj.get("response", "")
                turn.feed(text if isinstance(text, str) else "")
                if obj.get("done"):
                    turn.usage = Usage(input_tokens=int(obj.get("prompt_eval_count") or 0),
                                       output_tokens=int(obj.get("eval_count") or 0))
                    turn.extra["done_reason"] = obj.get("done_reason")
                    return
        raise ProviderError(f"Ollama at {url}: the stream ended without a final `done` line",
                            kind="server")
