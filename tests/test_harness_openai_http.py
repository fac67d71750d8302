"""The OpenAI-compatible harness over real HTTP against the stand-in's chat-completions route."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from laneboard.errors import ProviderError
from laneboard.harnesses.base import (
    ErrorRaised,
    HarnessEvent,
    HarnessSpec,
    OutputReceived,
    UsageReported,
)
from laneboard.harnesses.openai_http import OpenAIHttpHarness, openai_base_url
from laneboard.standins import CHAT, DEGENERATE_TOKEN, Reply, StandinServer, cosine

DEADLINE = 10.0
SECRET = "sk-test-0123456789abcdefSECRET"


def make(url: str, *, model: str | None = "local-model", api_key_env: str | None = None,
         env: dict[str, str] | None = None, **kwargs: object) -> OpenAIHttpHarness:
    spec = HarnessSpec(lane="local", harness="openai", model=model, base_url=url,
                       api_key_env=api_key_env, env=env or {})
    return OpenAIHttpHarness(spec, **kwargs)  # type: ignore[arg-type]


def record(h: OpenAIHttpHarness) -> list[HarnessEvent]:
    seen: list[HarnessEvent] = []
    publish = h.hub.publish

    def spy(event: HarnessEvent) -> None:
        seen.append(event)
        publish(event)

    h.hub.publish = spy  # type: ignore[method-assign]
    return seen


@pytest.fixture
async def harness(standin: StandinServer) -> AsyncIterator[OpenAIHttpHarness]:
    h = make(standin.openai_base_url)
    yield h
    await h.stop()


async def test_start_lists_models(standin: StandinServer, harness: OpenAIHttpHarness) -> None:
    async with asyncio.timeout(DEADLINE):
        await harness.start()
        models = await harness.models()
    assert harness.state == "ready" and models == list(standin.models)
    assert standin.requests[0].path == "/v1/models"


async def test_prompt_arrives_byte_for_byte_with_usage_requested(
    standin: StandinServer, harness: OpenAIHttpHarness, tricky_prompt: str
) -> None:
    standin.script(Reply.text("Reply with `code` and “quotes”", input_tokens=7,
                              output_tokens=9))
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        result = await harness.send(tricky_prompt)
    [call] = standin.calls(CHAT)
    assert call.path == "/v1/chat/completions" and call.prompt == tricky_prompt
    assert call.body["stream"] is True
    assert call.body["stream_options"] == {"include_usage": True}
    assert call.body["model"] == "local-model"
    assert "authorization" not in call.headers
    assert result.state == "done" and result.reply == "Reply with `code` and “quotes”"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 9)
    assert result.extra["finish_reason"] == "stop"
    chunks = [e.data for e in events if isinstance(e, OutputReceived)]
    assert "".join(chunks) == result.reply and len(chunks) > 1
    assert len([e for e in events if isinstance(e, UsageReported)]) == 1


async def test_api_key_is_sent_and_never_shown(
    standin: StandinServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LOCAL_LLM_KEY", SECRET)
    h = make(standin.url, api_key_env="LOCAL_LLM_KEY")  # bare URL: /v1 is appended
    standin.script(Reply.error(401, "invalid key"))
    caplog.set_level(logging.DEBUG)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await h.send("x")
    await h.stop()
    [call] = standin.calls(CHAT)
    assert call.headers["authorization"] == f"Bearer {SECRET}"
    assert info.value.kind == "auth"
    assert SECRET not in str(info.value) and SECRET not in caplog.text
    assert SECRET not in repr(h.spec)


async def test_lane_env_key_wins_over_process_env(
    standin: StandinServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K", "from-process")
    h = make(standin.openai_base_url, api_key_env="K", env={"K": "from-lane"})
    async with asyncio.timeout(DEADLINE):
        await h.send("x")
    await h.stop()
    assert standin.calls(CHAT)[0].headers["authorization"] == "Bearer from-lane"


@pytest.mark.parametrize(("reply", "kind"), [
    (Reply.error(404, "model 'local-model' not found"), "not-found"),
    (Reply.error(429, "slow down", retry_after=5), "rate-limit"),
    (Reply.error(500, "boom"), "server"),
    (Reply.error(422, "bad field"), "bad-request"),
    (Reply.broken("half an ans", "CUDA out of memory"), "server"),
])
async def test_errors_map_to_kinds(
    standin: StandinServer, harness: OpenAIHttpHarness, reply: Reply, kind: str
) -> None:
    standin.script(reply)
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await harness.send("x")
    assert info.value.kind == kind
    assert reply.error_message in str(info.value)
    assert [e.kind for e in events if isinstance(e, ErrorRaised)] == [kind]
    if kind == "not-found":
        assert "'local-model'" in str(info.value)


async def test_unreachable_endpoint_fails_fast(unreachable_url: str) -> None:
    h = make(unreachable_url)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await h.start()
        health = await h.health()
    await h.stop()
    assert info.value.kind == "unreachable" and f"{unreachable_url}/v1/models" in str(info.value)
    assert not health.alive


async def test_watchdog_stops_an_endless_stream(
    standin: StandinServer, harness: OpenAIHttpHarness
) -> None:
    standin.script(Reply.endless(DEGENERATE_TOKEN))
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        result = await harness.send("x")
        after = await harness.send("next")
    assert result.state == "failed" and "degenerate" in (result.error or "")
    assert result.reply.count(DEGENERATE_TOKEN) < 5_000
    assert [e.kind for e in events if isinstance(e, ErrorRaised)] == ["watchdog"]
    assert after.state == "done" and after.reply.startswith("laneboard stand-in (chat)")


async def test_embeddings(standin: StandinServer, harness: OpenAIHttpHarness) -> None:
    texts = ["rotate the api keys", "api keys rotation", "sourdough starter"]
    async with asyncio.timeout(DEADLINE):
        vectors = await harness.embed(texts)
    assert len(vectors) == 3
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    [call] = [r for r in standin.requests if r.path == "/v1/embeddings"]
    assert call.body == {"input": texts, "model": "local-model"}


@pytest.mark.parametrize(("given", "url"), [
    (None, "http://127.0.0.1:8080/v1"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
    ("http://127.0.0.1:1234/v1/", "http://127.0.0.1:1234/v1"),
    ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1"),
    ("localhost:8000", "http://localhost:8000/v1"),
])
def test_base_url_forms(given: str | None, url: str) -> None:
    assert openai_base_url(given) == url
