"""The Ollama harness over real HTTP against the stand-in: replies, usage, errors, watchdog.

Every wait is bounded: `asyncio.timeout` around each harness call, so a regression that
hangs fails fast instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from laneboard.errors import HarnessTimeout, ProviderError
from laneboard.harnesses.base import (
    ErrorRaised,
    HarnessEvent,
    HarnessSpec,
    OutputReceived,
    StateChanged,
    TurnFinished,
    UsageReported,
)
from laneboard.harnesses.ollama import OllamaHarness, ollama_base_url
from laneboard.standins import DEGENERATE_TOKEN, OLLAMA, Reply, StandinServer, cosine

DEADLINE = 10.0


def make(url: str, model: str = "qwen3:7b", **kwargs: object) -> OllamaHarness:
    spec = HarnessSpec(lane="triage", harness="ollama", model=model, base_url=url)
    return OllamaHarness(spec, **kwargs)  # type: ignore[arg-type]


def record(h: OllamaHarness) -> list[HarnessEvent]:
    """Every event the harness publishes, captured synchronously (no subscriber races)."""
    seen: list[HarnessEvent] = []
    publish = h.hub.publish

    def spy(event: HarnessEvent) -> None:
        seen.append(event)
        publish(event)

    h.hub.publish = spy  # type: ignore[method-assign]
    return seen


@pytest.fixture
async def harness(standin: StandinServer) -> AsyncIterator[OllamaHarness]:
    h = make(standin.url)
    yield h
    await h.stop()


async def test_start_and_health_probe_the_version(
    standin: StandinServer, harness: OllamaHarness
) -> None:
    async with asyncio.timeout(DEADLINE):
        await harness.start()
        health = await harness.health()
    assert harness.state == "ready"
    assert health.alive and "Ollama 0." in health.detail and standin.url in health.detail
    assert [r.path for r in standin.requests] == ["/api/version", "/api/version"]


async def test_prompt_arrives_byte_for_byte_and_reply_streams_back(
    standin: StandinServer, harness: OllamaHarness, tricky_prompt: str
) -> None:
    standin.script(Reply.text("Here is\n`the` answer — ok", input_tokens=11, output_tokens=18))
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        result = await harness.send(tricky_prompt)
    [call] = standin.calls(OLLAMA)
    assert call.path == "/api/chat"
    assert call.prompt == tricky_prompt
    assert call.body["messages"] == [{"role": "user", "content": tricky_prompt}]
    assert call.body["stream"] is True and call.body["model"] == "qwen3:7b"
    assert result.state == "done" and result.reply == "Here is\n`the` answer — ok"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (11, 18)
    outputs = [e.data for e in events if isinstance(e, OutputReceived)]
    assert len(outputs) > 1 and "".join(outputs) == result.reply
    assert [e.usage.output_tokens for e in events if isinstance(e, UsageReported)] == [18]
    assert [e.state for e in events if isinstance(e, StateChanged)] == ["busy", "ready"]
    finished = events[-2]
    assert isinstance(finished, TurnFinished) and finished.result is result


async def test_history_is_resent_and_bounded(standin: StandinServer) -> None:
    h = make(standin.url, history_turns=1)
    standin.script(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    async with asyncio.timeout(DEADLINE):
        for prompt in ("a", "b", "c"):
            await h.send(prompt)
    await h.stop()
    sent = [c.body["messages"] for c in standin.calls(OLLAMA)]
    assert sent[1] == [{"role": "user", "content": "a"},
                       {"role": "assistant", "content": "one"},
                       {"role": "user", "content": "b"}]
    assert sent[2][0] == {"role": "user", "content": "b"} and len(sent[2]) == 3


@pytest.mark.parametrize(("reply", "kind"), [
    (Reply.error(429, "busy", retry_after=3), "rate-limit"),
    (Reply.error(500, "runner crashed"), "server"),
    (Reply.error(503, "queue full"), "server"),
    (Reply.error(401, "bad key"), "auth"),
    (Reply.error(403, "forbidden"), "auth"),
    (Reply.error(400, "does not support chat"), "bad-request"),
])
async def test_http_errors_map_to_provider_error_kinds(
    standin: StandinServer, harness: OllamaHarness, reply: Reply, kind: str
) -> None:
    standin.script(reply)
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await harness.send("x")
    assert info.value.kind == kind and info.value.status == reply.status
    assert reply.error_message in str(info.value) and standin.url in str(info.value)
    if kind == "rate-limit":
        assert "retry after 3s" in str(info.value)
    assert [e.kind for e in events if isinstance(e, ErrorRaised)] == [kind]
    assert harness.state == "ready"


async def test_unknown_model_is_not_found_naming_the_model(standin: StandinServer) -> None:
    h = make(standin.url, model="llama9")
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await h.send("x")
        assert not await h.has_model()
    await h.stop()
    assert info.value.kind == "not-found" and info.value.status == 404
    assert "'llama9'" in str(info.value)


async def test_midstream_error_line_is_a_server_error(
    standin: StandinServer, harness: OllamaHarness
) -> None:
    standin.script(Reply.broken("partial words here", "an error was encountered"))
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as info:
            await harness.send("x")
    assert info.value.kind == "server"
    assert "mid-stream" in str(info.value) and "an error was encountered" in str(info.value)


async def test_unreachable_server_fails_fast_with_the_url(unreachable_url: str) -> None:
    h = make(unreachable_url)
    events = record(h)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ProviderError) as started:
            await h.start()
        with pytest.raises(ProviderError) as sent:
            await h.send("x")
        health = await h.health()
    await h.stop()
    for info in (started, sent):
        assert info.value.kind == "unreachable" and info.value.fails_over
        assert unreachable_url in str(info.value) and "ollama serve" in str(info.value)
    assert not health.alive and unreachable_url in health.detail
    assert ("failed" in [e.state for e in events if isinstance(e, StateChanged)])


async def test_watchdog_stops_an_endless_degenerate_stream(
    standin: StandinServer, harness: OllamaHarness
) -> None:
    standin.script(Reply.endless(DEGENERATE_TOKEN, count=100_000))
    events = record(harness)
    async with asyncio.timeout(DEADLINE):
        result = await harness.send("summarise this")
        # the stand-in noticed the hang-up and still serves the next turn
        standin.script(Reply.text("fine now"))
        after = await harness.send("again")
    assert result.state == "failed" and result.error and "degenerate" in result.error
    assert result.reply.count(DEGENERATE_TOKEN) < 5_000
    assert [e.kind for e in events if isinstance(e, ErrorRaised)] == ["watchdog"]
    assert after.reply == "fine now"
    assert all(m["content"] != result.reply for m in standin.calls(OLLAMA)[-1].body["messages"])


async def test_watchdog_can_be_replaced_or_disabled(standin: StandinServer) -> None:
    class TripOnWord:
        def feed(self, text: str) -> bool:
            return "stop" in text

    h = make(standin.url, watchdog=TripOnWord())
    standin.script(Reply.text("go go stop here"))
    async with asyncio.timeout(DEADLINE):
        result = await h.send("x")
    assert result.state == "failed" and result.reply == "go go stop "

    off = make(standin.url, watchdog=None)
    standin.script(Reply.endless(DEGENERATE_TOKEN, count=300))
    async with asyncio.timeout(DEADLINE):
        full = await off.send("x")
    assert full.state == "done" and full.reply == DEGENERATE_TOKEN * 300
    await h.stop()
    await off.stop()


async def test_turn_deadline_raises_harness_timeout(
    standin: StandinServer, harness: OllamaHarness
) -> None:
    standin.script(Reply.slow("never arrives in time", delay=30.0))
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(HarnessTimeout, match=r"within 0\.3s"):
            await harness.send("x", timeout=0.3)
    assert harness.state == "ready"


async def test_interrupt_ends_the_turn_with_partial_output(
    standin: StandinServer,
) -> None:
    h = make(standin.url, watchdog=None)
    standin.script(Reply.endless("word ", delay=0.02))
    first_output = asyncio.Event()
    events = record(h)
    publish: Callable[[HarnessEvent], None] = h.hub.publish

    def spy(event: HarnessEvent) -> None:
        publish(event)
        if isinstance(event, OutputReceived):
            first_output.set()

    h.hub.publish = spy  # type: ignore[method-assign]
    async with asyncio.timeout(DEADLINE):
        turn = asyncio.create_task(h.send("x"))
        await first_output.wait()
        await h.interrupt()
        result = await turn
    await h.stop()
    assert result.state == "interrupted" and result.reply.startswith("word ")
    assert any(isinstance(e, TurnFinished) for e in events)


async def test_generate_is_stateless(standin: StandinServer, harness: OllamaHarness) -> None:
    standin.script(Reply.text("ESCALATE"))
    async with asyncio.timeout(DEADLINE):
        result = await harness.generate("triage this", system="answer ESCALATE or SKIP")
    [call] = standin.calls(OLLAMA)
    assert call.path == "/api/generate" and call.prompt == "triage this"
    assert call.body["system"] == "answer ESCALATE or SKIP"
    assert result.reply == "ESCALATE" and not harness.history


async def test_embeddings_and_listing(standin: StandinServer) -> None:
    h = make(standin.url, model="qwen3-embedding:8b")
    texts = ["reset the index safely", "safely reset an index", "buy milk and eggs"]
    async with asyncio.timeout(DEADLINE):
        vectors = await h.embed(texts)
        assert await h.embed([]) == []
        names = [m.name for m in await h.tags()]
        assert await h.has_model() and await h.has_model("gemma4")
        version = await h.version()
        with pytest.raises(ProviderError) as info:
            await h.embed(["x"], model="missing-embedder")
    await h.stop()
    assert len(vectors) == 3
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert names == list(standin.models) and version.count(".") == 2
    assert info.value.kind == "not-found"
    assert "no model 'missing-embedder'" in str(info.value)
    assert "ollama pull missing-embedder" in str(info.value)
    [embed_call] = [r for r in standin.requests if r.path == "/api/embed"][:1]
    assert embed_call.body == {"model": "qwen3-embedding:8b", "input": texts}


@pytest.mark.parametrize(("host", "url"), [
    (None, "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://0.0.0.0:11434"),
    ("example.com:8080", "http://example.com:8080"),
    (":9999", "http://127.0.0.1:9999"),
    ("https://ollama.example.com", "https://ollama.example.com:443"),
    ("http://box/ollama/", "http://box:80/ollama"),
    ("[::1]:1234", "http://[::1]:1234"),
    ("[::1]", "http://[::1]:11434"),
])
def test_ollama_host_forms(host: str | None, url: str) -> None:
    assert ollama_base_url(host) == url


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:5555")
    spec = HarnessSpec(lane="l", harness="ollama", model="m")
    assert OllamaHarness(spec).base_url == "http://127.0.0.1:5555"
    with_url = HarnessSpec(lane="l", harness="ollama", model="m", base_url="http://h:1")
    assert OllamaHarness(with_url).base_url == "http://h:1"
    monkeypatch.delenv("OLLAMA_HOST")
    assert OllamaHarness(spec).base_url == "http://127.0.0.1:11434"
