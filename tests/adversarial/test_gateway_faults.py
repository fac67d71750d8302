"""Attacks on the lane gateway's promise: "a hostile or broken peer gets a clean error in its
own protocol, the gateway keeps serving other lanes, and the next request works".

Tried: an unknown / missing / near-miss lane token (403 + a log line, nothing forwarded),
a malformed upstream JSON body, an upstream that closes mid-stream, a request body over
the size limit, a degenerate endless stream (cut by the watchdog), and the gateway process
killed with SIGKILL mid-stream, then restarted: the same lane URL works again.
Real parts throughout: aiohttp clients and servers on 127.0.0.1, the stand-in, the
gateway as its own process for the kill.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from laneboard.gateway.client import spawn_detached, wait_live
from laneboard.gateway.server import MAX_BODY
from laneboard.standins import DEGENERATE_TOKEN, Reply, StandinServer
from tests.fixtures.gateway import RunningGateway

ANTHROPIC_BODY = {"model": "claude-x", "max_tokens": 50, "stream": True,
                  "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"x-api-key": "sk-ant-standin-0123456789abcdefghij",
           "anthropic-version": "2023-06-01"}


@pytest.fixture
async def broken_upstream() -> AsyncIterator[str]:
    """An upstream that misbehaves per path: malformed JSON, or a stream cut off."""

    async def malformed(_r: web.Request) -> web.Response:
        return web.Response(body=b'{"id": "msg_1", "content": [', content_type="application/json")

    async def cut(request: web.Request) -> web.StreamResponse:
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await out.prepare(request)
        await out.write(b'event: message_start\ndata: {"type":"message_start","message":'
                        b'{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n')
        await out.write(b'event: content_block_delta\ndata: {"type":"content_block_de')
        assert request.transport is not None
        request.transport.close()  # the upstream dies mid-event
        return out

    app = web.Application()
    app.router.add_post("/malformed/v1/messages", malformed)
    app.router.add_post("/cut/v1/messages", cut)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _post(url: str, body: object, **kw: object) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s, s.post(
        url, json=body, headers=HEADERS, **kw  # type: ignore[arg-type]
    ) as r:
        return r.status, await r.read()


async def _works(url: str, standin: StandinServer) -> None:
    standin.script(Reply.text("still serving"))
    status, data = await _post(url + "/v1/messages", {**ANTHROPIC_BODY, "stream": False})
    assert status == 200 and b"still serving" in data


@pytest.mark.parametrize("path", ["/l/not-a-token/v1/messages", "/v1/messages", "/l//v1/messages"])
async def test_unknown_token_is_403_logged_and_never_forwarded(
    standin: StandinServer, gateway: RunningGateway, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    real = gateway.route("coder", "claude-code", base_url=standin.url)
    near = real[:-1] + ("A" if real[-1] != "A" else "B")
    for url in (gateway.info.url + path, near + "/v1/messages"):
        status, data = await _post(url, ANTHROPIC_BODY)
        assert status == 403, data
        assert json.loads(data)["error"]["type"] in ("permission_error", "api_error")
    assert standin.requests == []
    assert any("403" in r.getMessage() for r in caplog.records)
    assert not any(HEADERS["x-api-key"] in r.getMessage() for r in caplog.records)
    await _works(real, standin)


async def test_malformed_upstream_body_is_a_clean_502(
    standin: StandinServer, gateway: RunningGateway, broken_upstream: str
) -> None:
    bad = gateway.route("bad", "claude-code", base_url=broken_upstream + "/malformed")
    status, data = await _post(bad + "/v1/messages", {**ANTHROPIC_BODY, "stream": False})
    assert status == 502
    err = json.loads(data)
    assert err["type"] == "error" and "malformed" in err["error"]["message"]
    await _works(gateway.route("good", "claude-code", base_url=standin.url), standin)


async def test_upstream_closing_mid_stream_ends_with_an_error_event(
    standin: StandinServer, gateway: RunningGateway, broken_upstream: str
) -> None:
    cut = gateway.route("cut", "claude-code", base_url=broken_upstream + "/cut")
    status, data = await _post(cut + "/v1/messages", ANTHROPIC_BODY)
    assert status == 200
    assert b"message_start" in data  # what the lane already got is kept
    assert data.rstrip().endswith(b"}")
    assert b"event: error" in data and b"broke off" in data
    await _works(gateway.route("good", "claude-code", base_url=standin.url), standin)


async def test_body_over_the_limit_is_413_in_the_protocol_shape(
    standin: StandinServer, gateway: RunningGateway
) -> None:
    url = gateway.route("coder", "claude-code", base_url=standin.url)
    huge = {**ANTHROPIC_BODY, "messages": [{"role": "user", "content": "x" * (MAX_BODY + 10)}]}
    status, data = await _post(url + "/v1/messages", huge)
    assert status == 413
    assert json.loads(data)["type"] == "error"
    assert standin.requests == []
    await _works(url, standin)


async def test_degenerate_stream_is_cut_and_the_lane_marked(
    standin: StandinServer, gateway: RunningGateway
) -> None:
    url = gateway.route("coder", "claude-code", base_url=standin.url)
    standin.script(Reply.endless(count=20_000))
    status, data = await _post(url + "/v1/messages", ANTHROPIC_BODY)
    assert status == 200
    assert b"degenerate output cut" in data
    assert data.count(DEGENERATE_TOKEN.encode()) < 20_000
    from laneboard.gateway.statefiles import USAGE, read_json

    assert read_json(gateway.folder / USAGE)["coder"]["degenerate"] == 1


@pytest.mark.slow
async def test_gateway_killed_mid_stream_then_the_next_request_works(
    standin: StandinServer, gateway_process: RunningGateway, tmp_path: Path
) -> None:
    url = gateway_process.route("coder", "claude-code", base_url=standin.url)
    standin.script(Reply.slow("one two three four five six seven eight nine ten", delay=0.3))
    got: list[bytes] = []
    async with aiohttp.ClientSession() as s, s.post(
        url + "/v1/messages", json=ANTHROPIC_BODY, headers=HEADERS
    ) as r:
        assert r.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in r.content.iter_any():
                got.append(chunk)
                if b"content_block_delta" in b"".join(got):
                    assert gateway_process.proc is not None
                    os.kill(gateway_process.proc.pid, signal.SIGKILL)
    assert b"message_start" in b"".join(got)  # relayed event by event, not buffered
    assert gateway_process.proc is not None
    gateway_process.proc.wait(timeout=10)
    proc = spawn_detached(gateway_process.folder, supervise=False)
    gateway_process.proc = proc
    info = await asyncio.to_thread(wait_live, gateway_process.folder, proc=proc)
    assert info.port == gateway_process.info.port  # same URL, same token
    await _works(url, standin)
