"""The stand-in endpoints speak each protocol correctly, checked with a real HTTP client.

Assertions are on the wire shapes the real clients need (event order, terminators, content
types, error bodies), not merely on the stand-in echoing what the test scripted.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from laneboard.standins import (
    ANTHROPIC,
    CANNED_TITLE,
    RESPONSES,
    RESPONSES_TITLE,
    Reply,
    StandinServer,
    cosine,
    embed_text,
    extract_prompt,
)
from laneboard.standins.replies import split_chunks

Event = tuple[str | None, Any]


def parse_sse(text: str) -> list[Event]:
    """A strict SSE parser: events separated by blank lines, `event:` + `data:` fields."""
    assert text.endswith("\n\n"), "every SSE event must be terminated by a blank line"
    events: list[Event] = []
    for block in text.split("\n\n")[:-1]:
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        payload = "\n".join(data)
        events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


def anthropic_body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-5", "stream": True, "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x"},
                                         {"type": "text", "text": prompt}]},
            {"role": "system", "content": "environment notes"},
        ],
        **extra,
    }


def responses_body(prompt: str) -> dict[str, Any]:
    return {
        "model": "gpt-5.5", "stream": True, "store": False, "tool_choice": "auto",
        "input": [
            {"type": "message", "role": "developer",
             "content": [{"type": "input_text", "text": "instructions"}]},
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "<environment_context>…"}]},
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": prompt}]},
        ],
    }


@pytest.fixture
def client(standin: StandinServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.url, timeout=10.0) as c:
        yield c


# -- Anthropic Messages ------------------------------------------------------------------


def test_anthropic_text_stream_has_the_full_event_sequence(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("Hello from the stand-in"))
    r = client.post("/v1/messages?beta=true", json=anthropic_body("hi"),
                    headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    for name, data in events:
        assert name == data["type"], "the event: line must name the data's type"
    names = [n for n, _ in events if n != "ping"]
    deltas = names.count("content_block_delta")
    assert deltas >= 2
    assert names == (["message_start", "content_block_start"]
                     + ["content_block_delta"] * deltas
                     + ["content_block_stop", "message_delta", "message_stop"])
    start = events[0][1]["message"]
    assert start["role"] == "assistant" and start["content"] == []
    assert start["model"] == "claude-opus-4-5"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Hello from the stand-in"
    message_delta = next(d for n, d in events if n == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "end_turn"
    assert message_delta["usage"]["output_tokens"] >= 1


def test_anthropic_prompt_is_last_text_of_last_user_message(
    standin: StandinServer, client: httpx.Client
) -> None:
    client.post("/v1/messages?beta=true", json=anthropic_body("the real prompt"))
    [call] = standin.calls(ANTHROPIC)
    assert call.path == "/v1/messages" and call.query == "beta=true"
    assert call.prompt == "the real prompt"  # messages[-1] is the system message


def test_anthropic_tool_use_streams_input_json(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.tool_call("Write", {"file_path": "/tmp/x", "content": "é\n"},
                                   text="Writing it."))
    events = parse_sse(client.post("/v1/messages", json=anthropic_body("go")).text)
    blocks = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in blocks] == ["text", "tool_use"]
    assert blocks[1]["name"] == "Write" and blocks[1]["id"].startswith("toolu_")
    partial = [d["delta"]["partial_json"] for n, d in events
               if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert json.loads("".join(partial)) == {"file_path": "/tmp/x", "content": "é\n"}
    assert [n for n, _ in events].count("content_block_stop") == 2
    stop = next(d for n, d in events if n == "message_delta")
    assert stop["delta"]["stop_reason"] == "tool_use"
    assert events[-1][0] == "message_stop"


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "authentication_error"),
    (429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error"),
])
def test_anthropic_errors_use_the_error_envelope(
    standin: StandinServer, client: httpx.Client, status: int, kind: str
) -> None:
    standin.script(Reply.error(status, "nope", retry_after=2 if status == 429 else None))
    r = client.post("/v1/messages", json=anthropic_body("x"))
    assert r.status_code == status
    assert r.json() == {"type": "error", "error": {"type": kind, "message": "nope"}}
    assert r.headers.get("retry-after") == ("2" if status == 429 else None)


def test_head_and_get_on_any_path_do_not_crash(
    standin: StandinServer, client: httpx.Client
) -> None:
    assert client.head("/api/hello").status_code == 200
    assert client.get("/no/such/thing").status_code == 404
    assert client.head("/").headers["content-length"] == str(len("Ollama is running"))
    assert client.get("/").text == "Ollama is running"


def test_non_streaming_anthropic_returns_a_message(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("whole"))
    r = client.post("/v1/messages", json=anthropic_body("x", stream=False))
    body = r.json()
    assert body["type"] == "message" and body["content"] == [{"type": "text", "text": "whole"}]


# -- OpenAI Responses ----------------------------------------------------------------------


def test_responses_stream_completes_with_the_full_item(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("Done it", input_tokens=1000, output_tokens=50))
    r = client.post("/v1/responses", json=responses_body("do it"))
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    assert names.index("response.output_item.added") < names.index("response.output_text.delta")
    assert names.index("response.output_text.delta") < names.index("response.output_item.done")
    seq = [d["sequence_number"] for _, d in events]
    assert seq == sorted(seq) and len(set(seq)) == len(seq)
    done = next(d for n, d in events if n == "response.output_item.done")["item"]
    assert done["type"] == "message" and done["status"] == "completed"
    assert done["content"][0] == {"type": "output_text", "text": "Done it", "annotations": []}
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed" and completed["output"] == [done]
    assert completed["usage"]["total_tokens"] == 1050
    assert standin.last_prompt(RESPONSES) == "do it"


def test_responses_custom_tool_call_item(standin: StandinServer, client: httpx.Client) -> None:
    standin.script(Reply.tool_call("exec", "await tools.exec_command({cmd:'ls'})"))
    events = parse_sse(client.post("/v1/responses", json=responses_body("x")).text)
    items = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert items == [{"type": "custom_tool_call", "id": "ctc_standin", "call_id": "call_1",
                      "name": "exec", "input": "await tools.exec_command({cmd:'ls'})",
                      "status": "completed"}]
    assert events[-1][0] == "response.completed"


def test_responses_error_body_and_retry_after(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.error(429, "slow down", retry_after=1))
    r = client.post("/v1/responses", json=responses_body("x"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    err = r.json()["error"]
    assert err["message"] == "slow down" and err["type"] and "code" in err


def test_responses_midstream_failure_ends_with_response_failed(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.broken("half of it", "model crashed"))
    events = parse_sse(client.post("/v1/responses", json=responses_body("x")).text)
    assert events[-1][0] == "response.failed"
    assert events[-1][1]["response"]["error"]["message"] == "model crashed"
    assert "response.completed" not in [n for n, _ in events]


async def test_title_request_is_answered_in_parallel_without_consuming_the_script(
    standin: StandinServer,
) -> None:
    standin.script(Reply.slow("the real answer", delay=0.05), Reply.text("second turn"))
    title = responses_body("Generate a concise, single-line task title for this.\n"
                           "User prompt:\nfix the bug")
    async with (
        httpx.AsyncClient(base_url=standin.url, timeout=10.0) as ac,
        ac.stream("POST", "/v1/responses", json=responses_body("fix the bug")) as turn,
    ):
        lines = turn.aiter_lines()
        assert (await anext(lines)) == "event: response.created"
        # the turn is still streaming; the title request must not wait for it
        r = await ac.post("/v1/responses", json=title)
        texts = [d["delta"] for n, d in parse_sse(r.text)
                 if n == "response.output_text.delta"]
        assert "".join(texts) == CANNED_TITLE
        rest = "event: response.created\n" + "\n".join([x async for x in lines]) + "\n"
    assert parse_sse(rest)[-1][0] == "response.completed"
    assert standin.pending() == 1  # only the real turn consumed a reply
    assert [c.dialect for c in standin.calls()] == [RESPONSES, RESPONSES_TITLE]
    assert standin.prompts(RESPONSES) == ["fix the bug"]


# -- OpenAI chat completions ----------------------------------------------------------------


def chat_body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "local", "messages": [{"role": "system", "content": "be brief"},
                                           {"role": "user", "content": prompt}], **extra}


def test_chat_stream_ends_with_done_and_usage_only_when_asked(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("a b c"), Reply.text("a b c"))
    with_usage = parse_sse(client.post("/v1/chat/completions", json=chat_body(
        "x", stream=True, stream_options={"include_usage": True})).text)
    without = parse_sse(client.post("/v1/chat/completions",
                                    json=chat_body("x", stream=True)).text)
    for events in (with_usage, without):
        assert events[-1] == (None, "[DONE]")
        chunks = [d for _, d in events[:-1]]
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
        text = "".join(c["choices"][0]["delta"].get("content", "")
                       for c in chunks if c["choices"])
        assert text == "a b c"
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    usage_chunk = with_usage[-2][1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] > 0
    assert all("usage" not in d for _, d in without[:-1])


def test_chat_non_streaming_and_models(standin: StandinServer, client: httpx.Client) -> None:
    standin.script(Reply.text("whole reply"))
    body = client.post("/v1/chat/completions", json=chat_body("x")).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "whole reply"}
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == list(standin.models)


# -- Ollama --------------------------------------------------------------------------------


def ndjson(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n") and "\n\n" not in text, "NDJSON: one object per line"
    return [json.loads(line) for line in text.splitlines()]


def test_ollama_chat_streams_ndjson_by_default(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("Hel lo"))
    r = client.post("/api/chat", json={"model": "qwen3:7b",
                                       "messages": [{"role": "user", "content": "hi"}]})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(r.text)
    assert [x["done"] for x in lines] == [False] * (len(lines) - 1) + [True]
    assert "".join(x["message"]["content"] for x in lines) == "Hel lo"
    last = lines[-1]
    assert last["done_reason"] == "stop"
    for key in ("eval_count", "prompt_eval_count", "total_duration", "eval_duration"):
        assert isinstance(last[key], int) and last[key] > 0
    assert all("done_reason" not in x for x in lines[:-1])


def test_ollama_generate_non_streaming(standin: StandinServer, client: httpx.Client) -> None:
    standin.script(Reply.text("full text"))
    r = client.post("/api/generate", json={"model": "qwen3:7b", "prompt": "p", "stream": False})
    body = r.json()
    assert r.headers["content-type"] == "application/json"
    assert body["response"] == "full text" and body["done"] is True
    assert standin.last_prompt("ollama") == "p"


def test_ollama_unknown_model_is_404(standin: StandinServer, client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"model": "llama9", "messages": []})
    assert r.status_code == 404
    assert r.json() == {"error": "model 'llama9' not found"}
    assert standin.pending() == 0


def test_ollama_midstream_error_line_keeps_status_200(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.broken("some words", "runner died"))
    r = client.post("/api/generate", json={"model": "qwen3:7b", "prompt": "p"})
    assert r.status_code == 200
    lines = ndjson(r.text)
    assert lines[-1] == {"error": "runner died"}
    assert not any(x.get("done") for x in lines)


def test_ollama_probes(standin: StandinServer, client: httpx.Client) -> None:
    standin.models = ["gemma4", "qwen3-embedding:8b"]
    assert client.get("/api/version").json()["version"].count(".") == 2
    tags = client.get("/api/tags").json()["models"]
    assert [m["name"] for m in tags] == ["gemma4:latest", "qwen3-embedding:8b"]
    assert all({"model", "modified_at", "size", "digest", "details"} <= set(m) for m in tags)
    assert client.get("/api/ps").json() == {"models": []}


def test_ollama_embed_is_a_list_of_vectors_and_meaningful(
    standin: StandinServer, client: httpx.Client
) -> None:
    one = client.post("/api/embed", json={"model": "qwen3-embedding:8b", "input": "cats purr"})
    assert len(one.json()["embeddings"]) == 1  # a list even for a single string
    texts = ["the cat sat on the mat", "a cat sat on a mat", "quarterly tax filing deadline"]
    vecs = client.post("/api/embed", json={"model": "qwen3-embedding:8b",
                                           "input": texts}).json()["embeddings"]
    assert len(vecs) == 3 and len({len(v) for v in vecs}) == 1
    assert cosine(vecs[0], vecs[1]) > cosine(vecs[0], vecs[2]) + 0.3
    again = client.post("/api/embed", json={"model": "qwen3-embedding:8b",
                                            "input": texts[:1]}).json()["embeddings"]
    assert again[0] == vecs[0]


# -- server behaviour ----------------------------------------------------------------------


async def test_requests_are_served_concurrently(standin: StandinServer) -> None:
    standin.script(Reply.endless("tick ", delay=0.02), dialect="ollama")
    chat = {"model": "qwen3:7b", "messages": [{"role": "user", "content": "x"}]}
    async with (
        httpx.AsyncClient(base_url=standin.url, timeout=10.0) as ac,
        ac.stream("POST", "/api/chat", json=chat) as slow,
    ):
        lines = slow.aiter_lines()
        assert json.loads(await anext(lines))["message"]["content"] == "tick "
        quick = await asyncio.gather(*[
            ac.post("/v1/messages", json=anthropic_body(f"p{i}")) for i in range(4)])
        assert all(parse_sse(r.text)[-1][0] == "message_stop" for r in quick)
    assert sorted(standin.prompts(ANTHROPIC)) == ["p0", "p1", "p2", "p3"]


async def test_client_hanging_up_mid_stream_leaves_the_server_healthy(
    standin: StandinServer,
) -> None:
    standin.script(Reply.endless())
    async with httpx.AsyncClient(base_url=standin.url, timeout=10.0) as ac:
        async with ac.stream("POST", "/v1/messages", json=anthropic_body("x")) as r:
            async for _ in r.aiter_lines():
                break
        again = await ac.post("/v1/messages", json=anthropic_body("y"))
    assert parse_sse(again.text)[-1][0] == "message_stop"


async def test_stop_cuts_an_endless_stream() -> None:
    server = StandinServer().start()
    server.script(Reply.endless(delay=0.05))
    body = {"model": "qwen3:7b", "prompt": "x"}
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10.0) as ac,
        ac.stream("POST", "/api/generate", json=body) as r,
    ):
        lines = r.aiter_lines()
        await anext(lines)
        await asyncio.to_thread(server.stop)
        # the stream is cut: a protocol error (no final chunk), never an endless read
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async with asyncio.timeout(5):
                async for _ in lines:
                    pass


def test_default_reply_says_it_is_the_standin(
    standin: StandinServer, client: httpx.Client
) -> None:
    r = client.post("/api/generate", json={"model": "qwen3:7b", "prompt": "hello there",
                                           "stream": False})
    assert r.json()["response"].startswith("laneboard stand-in (ollama): ")


def test_dialect_queue_wins_over_the_shared_queue(
    standin: StandinServer, client: httpx.Client
) -> None:
    standin.script(Reply.text("shared"))
    standin.script(Reply.text("mine"), dialect="anthropic")
    chat = client.post("/api/generate", json={"model": "qwen3:7b", "prompt": "x",
                                              "stream": False}).json()["response"]
    events = parse_sse(client.post("/v1/messages", json=anthropic_body("x")).text)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert (chat, text) == ("shared", "mine")


def test_wait_for_calls_has_a_deadline(standin: StandinServer) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        standin.wait_for_calls(1, timeout=0.05)


def test_recorded_request_keeps_raw_bytes(standin: StandinServer, client: httpx.Client) -> None:
    prompt = 'naïve "quotes" `ticks` $HOME — 日本語 🚀'
    client.post("/api/generate", json={"model": "qwen3:7b", "prompt": prompt, "stream": False})
    [call] = standin.calls("ollama")
    assert call.prompt == prompt
    assert json.loads(call.raw.decode("utf-8"))["prompt"] == prompt
    assert call.headers["content-type"] == "application/json"


# -- pure helpers ----------------------------------------------------------------------------


def test_prompt_extraction_per_dialect() -> None:
    assert extract_prompt("responses", responses_body("p")) == "p"
    assert extract_prompt("responses", {"input": "plain"}) == "plain"
    tool_loop = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "W",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
    ]}
    assert extract_prompt("anthropic", tool_loop) == "first"
    assert extract_prompt("ollama", {"messages": [{"role": "user", "content": "u"},
                                                  {"role": "assistant", "content": "a"}]}) == "u"
    assert extract_prompt("chat", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "parts"}]}]}) == "parts"
    assert extract_prompt("anthropic", "not a dict") is None


@given(st.text())
def test_split_chunks_reassembles_exactly(text: str) -> None:
    assert "".join(split_chunks(text)) == text


@given(st.text(min_size=1))
def test_embeddings_are_deterministic_unit_vectors(text: str) -> None:
    vec = embed_text(text)
    assert vec == embed_text(text)
    norm = math.sqrt(sum(v * v for v in vec))
    assert norm == 0.0 or abs(norm - 1.0) < 1e-4
