"""The gateway's HTTP app: `/l/<lane token>/<provider path>` → redact, forward, relay, count.

Why aiohttp: one event loop relays many long streams at once with little memory, and its
client and server share that loop, so a streamed event goes from upstream socket to the
CLI's socket without a thread hop. Bound to 127.0.0.1 only: the lane token keeps other
local users' processes from borrowing a lane's provider, the address keeps everyone else.

A request's life: token → lane route (403 + a log line if unknown); body read up to
`MAX_BODY` (413 in the protocol's own error shape beyond); every string in the JSON body
redacted with the gateway's stable key; the candidate chain tried (`upstream`); the
response relayed event by event through the protocol's relay (fences, usage, watchdog);
counts saved. Faults (a malformed upstream body, an upstream that closes mid-stream) end
in an error the CLI understands — a status before the stream starts, an in-stream error
event after — and the gateway goes on serving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from laneboard.artifacts.redact import Redactor
from laneboard.gateway.counters import Counters, cost_of
from laneboard.gateway.framing import FramingError, NdjsonSplitter, SseSplitter
from laneboard.gateway.key_handoff import held_names
from laneboard.gateway.protocols import (
    Protocol,
    error_body,
    protocol_of,
    stream_error,
)
from laneboard.gateway.registry import Candidate, LaneRoute, Registry
from laneboard.gateway.relays import PendingCall, Relay, relay_for
from laneboard.gateway.route_auth import provider_headers
from laneboard.gateway.routed_call import ask_routed
from laneboard.gateway.statefiles import INFO, ROUTES, USAGE, atomic_private_json, redaction_key
from laneboard.gateway.turns import Turn, TurnWriter, prompt_of, whole_text
from laneboard.gateway.upstream import (
    CONNECT_TIMEOUT_S,
    READ_TIMEOUT_S,
    Cooldowns,
    failover_status,
    send_chain,
)
from laneboard.gateway.wire_fence import WireFence

log = logging.getLogger("laneboard.gateway")

MAX_BODY = 32 * 1024 * 1024
"""Largest request body a lane may send (a long history with images fits; a runaway
loop does not)."""
PASS_RESPONSE_HEADERS = ("content-type", "retry-after", "request-id", "x-request-id",
                         "anthropic-ratelimit-requests-remaining")


def redact_tree(value: Any, red: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return red(value)
    if isinstance(value, list):
        return [redact_tree(v, red) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v, red) for k, v in value.items()}
    return value


class Gateway:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.registry = Registry(folder / ROUTES)
        self.counters = Counters(folder / USAGE)
        self.cooldowns = Cooldowns()
        self.key = redaction_key(folder)
        self.started = time.time()
        self._session: aiohttp.ClientSession | None = None
        self._redactors: dict[str, tuple[tuple[str, ...], Redactor]] = {}
        self._fences: dict[tuple[str, ...], WireFence] = {}
        self.turns = TurnWriter()
        self.held_secrets = tuple(
            v for v in (os.environ.get(n, "").strip() for n, held in held_names().items()
                        if held) if len(v) >= 8)

    # -- app ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/l/{token}/{rest:.*}", self.handle)
        app.router.add_route("*", "/{rest:.*}", self.unknown)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S,
                                        sock_read=READ_TIMEOUT_S)
        self._session = aiohttp.ClientSession(
            timeout=timeout, auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
        )

    async def _close(self, _app: web.Application) -> None:
        self._save(durable=True)
        await self.turns.drain()
        self.turns.close()
        if self._session is not None:
            await self._session.close()

    async def unknown(self, request: web.Request) -> web.Response:
        log.warning("403: a request without a lane token (%s %s from %s)",
                    request.method, request.path[:80], request.remote)
        return _error("other", 403, "laneboard gateway: unknown lane")

    # -- per-request helpers --------------------------------------------------------------

    def _redactor(self, route: LaneRoute) -> Redactor:
        # the provider keys handed to the gateway are known secrets too: a lane's prompt
        # that repeats another provider's key never carries it to its model
        secrets = route.secrets + self.held_secrets
        have = self._redactors.get(route.lane)
        if have is None or have[0] != secrets:
            have = (secrets, Redactor(secrets, key=self.key))
            self._redactors[route.lane] = have
        return have[1]

    def _fence(self, deny: tuple[str, ...]) -> WireFence:
        f = self._fences.get(deny)
        if f is None:
            f = self._fences[deny] = WireFence(deny)
        return f

    def _redact(self, route: LaneRoute, raw: bytes) -> tuple[Any, bytes, int]:
        """(parsed JSON or None, redacted bytes, replacements)."""
        red = self._redactor(route)
        count = 0

        def one(text: str) -> str:
            nonlocal count
            r = red.redact(text)
            count += r.count
            return r.text

        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if body is None:
            if not raw:
                return None, raw, 0
            text = one(raw.decode("utf-8", "replace"))
            return None, text.encode(), count
        body = redact_tree(body, one)
        return body, json.dumps(body, ensure_ascii=False).encode(), count

    # -- the handler ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = self.registry.find(request.match_info["token"])
        rest = request.match_info["rest"]
        proto = protocol_of(rest)
        if route is None:
            log.warning("403: unknown lane token (%s /%s from %s)",
                        request.method, rest[:80], request.remote)
            return _error(proto, 403, "laneboard gateway: unknown lane token")
        counts = self.counters.lane(route.lane)
        started = time.time()
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            counts.errors += 1
            log.warning("413: lane %s sent a body over %d bytes", route.lane, MAX_BODY)
            return _error(proto, 413, f"laneboard gateway: request body over {MAX_BODY} bytes")
        body, data, redactions = self._redact(route, raw)
        counts.requests += 1
        counts.redactions += redactions
        bodies: dict[str | None, bytes] = {None: data}
        if isinstance(body, dict) and "model" in body:
            for c in route.candidates:
                if c.model and c.model not in bodies:
                    bodies[c.model] = json.dumps({**body, "model": c.model},
                                                 ensure_ascii=False).encode()
        requested = body.get("model") if isinstance(body, dict) else None
        turn = Turn(lane=route.lane, harness=route.harness, path=rest, proto=proto,
                    started=started, prompt=prompt_of(proto, body),
                    requested_model=str(requested) if requested is not None else None,
                    redactions=redactions)
        assert self._session is not None
        # a fallback on another provider gets that provider's key, never the lane's
        home = route.candidates[0].provider if route.candidates else None

        def auth(cand: Candidate, own: bool) -> CIMultiDict[str] | str:
            return provider_headers(proto, request.headers, home, cand, os.environ, own=own)

        attempt = await send_chain(
            self._session, route.candidates, request.method, rest, request.query_string,
            request.headers, bodies, self.cooldowns, strict=route.strict, auth=auth,
        )
        counts.fallbacks += len(attempt.hops)
        counts.failover_skipped += len(attempt.skipped)
        for why in attempt.skipped:
            log.warning("lane %s: failover candidate skipped: %s", route.lane, why)
        if attempt.hops:
            log.info("lane %s: failover %s", route.lane, " → ".join(attempt.hops))
        resp = attempt.response
        if resp is not None and attempt.skipped and failover_status(resp.status):
            # the last candidate failed and the others had no credential: say why, in
            # the CLI's protocol, instead of the bare provider error
            status, retry = resp.status, resp.headers.get("Retry-After")
            resp.release()
            resp = None
            attempt.error = (f"HTTP {status} from {_label(attempt.candidate)} and no fallback "
                             f"left ({'; '.join(attempt.skipped)})")
            attempt.status = status
            attempt.retry_after = retry
        turn.hops = tuple(attempt.hops)
        cand = attempt.candidate
        if cand is not None and cand.model:
            turn.served_model = cand.model
        record = route.artifacts if proto != "other" else None
        if resp is None:
            counts.errors += 1
            self._save()
            turn.status, turn.error = attempt.status, str(attempt.error)
            self.turns.write(record, turn, self._redactor(route))
            out = _error(proto, attempt.status, f"laneboard gateway: {attempt.error}")
            if attempt.retry_after:
                out.headers["Retry-After"] = attempt.retry_after
            return out
        relay = relay_for(proto, self._fence(route.deny), route.tools)

        async def ask(pending: PendingCall) -> tuple[Any, str | None]:
            return await self._routed_call(request, route, proto, rest, body, pending)

        try:
            return await self._relay(request, route, proto, resp, cand, relay, ask)
        finally:
            resp.release()
            self._save()
            if record:
                turn.status, turn.error = resp.status, relay.error
                turn.tools, turn.refused = tuple(relay.tools), tuple(relay.refused)
                turn.usage, turn.answer = relay.usage, "".join(relay.text)
                if relay.routed or relay.route_skipped:
                    turn.extra = {"routed_calls": list(relay.routed),
                                  "routes_skipped": list(relay.route_skipped)}
                turn.cost_usd = cost_of(relay.usage, cand.cost if cand is not None else None)
                self.turns.write(record, turn, self._redactor(route))

    async def _relay(self, request: web.Request, route: LaneRoute, proto: Protocol,
                     resp: aiohttp.ClientResponse, cand: Any, relay: Relay,
                     ask: Callable[[PendingCall], Awaitable[tuple[Any, str | None]]],
                     ) -> web.StreamResponse:
        counts = self.counters.lane(route.lane)
        ctype = resp.headers.get("Content-Type", "")
        headers = {k: resp.headers[k] for k in PASS_RESPONSE_HEADERS if k in resp.headers}
        price = cand.cost if cand is not None else None
        streaming = "event-stream" in ctype or "ndjson" in ctype
        if not streaming:
            try:
                payload = await resp.content.read(MAX_BODY + 1)
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                counts.errors += 1
                return _error(proto, 502, f"laneboard gateway: upstream failed: {type(e).__name__}")
            if len(payload) > MAX_BODY:
                counts.errors += 1
                return _error(proto, 502, "laneboard gateway: upstream body too large")
            if "json" in ctype and resp.status < 400:
                try:
                    parsed = json.loads(payload)
                except ValueError:
                    counts.errors += 1
                    log.warning("lane %s: malformed JSON from upstream (%d bytes)",
                                route.lane, len(payload))
                    return _error(proto, 502, "laneboard gateway: malformed upstream body")
                changed = await relay.whole_routed(parsed, ask)
                if changed is not parsed:
                    payload = json.dumps(changed).encode()
                relay.text = [whole_text(proto, changed)]
            self._account(route, relay, price)
            return web.Response(status=resp.status, body=payload, headers=headers)
        out = web.StreamResponse(status=resp.status, headers=headers)
        await out.prepare(request)
        splitter = NdjsonSplitter() if "ndjson" in ctype else SseSplitter()
        try:
            async for chunk in resp.content.iter_any():
                # every complete event of this read goes on at once, in one write: a
                # write (and socket send) per event was a per-event cost, and nothing is
                # held back that has already arrived
                pieces: list[bytes] = []
                for event in splitter.feed(chunk):
                    pieces += relay.feed(event)
                    while relay.pending is not None:  # one routed call after another
                        if pieces:  # what came before the call leaves before we ask
                            await out.write(b"".join(pieces))
                            pieces = []
                        pieces += relay.resolve(*await ask(relay.pending))
                if pieces:
                    await out.write(pieces[0] if len(pieces) == 1 else b"".join(pieces))
                relay.end_chunk()
                if relay.cut:
                    counts.degenerate += 1
                    relay.error = f"degenerate output cut ({relay.cut})"
                    log.warning("lane %s: stream cut (%s)", route.lane, relay.cut)
                    await out.write(stream_error(proto, f"laneboard: degenerate output cut "
                                                        f"({relay.cut})"))
                    break
            else:
                for piece in relay.finish():
                    await out.write(piece)
                tail = splitter.rest()
                if tail.strip():
                    await out.write(tail)
        except (TimeoutError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, FramingError) as e:
            counts.errors += 1
            relay.error = f"the upstream stream broke off ({type(e).__name__})"
            log.warning("lane %s: upstream stream failed: %s", route.lane, type(e).__name__)
            for piece in relay.finish():
                await _write_quietly(out, piece)
            await _write_quietly(out, stream_error(proto, "laneboard gateway: the upstream "
                                                          "stream broke off"))
        except (ConnectionResetError, BrokenPipeError):
            log.info("lane %s: the client went away mid-stream", route.lane)
        self._account(route, relay, price)
        await _eof_quietly(out)
        return out

    async def _routed_call(self, request: web.Request, route: LaneRoute, proto: Protocol,
                           rest: str, body: Any, pending: PendingCall,
                           ) -> tuple[Any, str | None]:
        """Ask the routed model for `pending`'s tool (its own fallback chain applies):
        (its input for the call, the model that answered), or (None, None) when it gave
        none — the primary's call then stands. Its tokens count to the lane; each
        candidate gets its own provider's credential (`gateway.route_auth`)."""
        if self._session is None:
            return None, None
        return await ask_routed(self._session, self.cooldowns, self.counters, route.lane,
                                proto, rest, request.query_string, request.headers, body,
                                pending, os.environ)

    def _account(self, route: LaneRoute, relay: Any, price: Any) -> None:
        counts = self.counters.lane(route.lane)
        counts.refused += len(relay.refused)
        if relay.usage.seen:
            self.counters.add_usage(route.lane, relay.usage, price)

    def _save(self, *, durable: bool = False) -> None:
        """Save the counts (after every request: not fsynced, see `atomic_private_json`)."""
        try:
            self.counters.save(durable=durable)
        except OSError as e:
            log.warning("could not save usage: %s", e)


async def _write_quietly(out: web.StreamResponse, data: bytes) -> None:
    with contextlib.suppress(ConnectionResetError, BrokenPipeError, RuntimeError):
        await out.write(data)


async def _eof_quietly(out: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionResetError, BrokenPipeError, RuntimeError):
        await out.write_eof()


def _label(cand: Candidate | None) -> str:
    if cand is None:
        return "the upstream"
    return cand.model or cand.base_url


def _error(proto: Protocol, status: int, message: str) -> web.Response:
    body, ctype = error_body(proto, status, message)
    return web.Response(status=status, body=body, content_type=ctype)


async def serve(folder: Path, port: int = 0) -> tuple[web.AppRunner, int]:
    """Start serving on 127.0.0.1 (`port`, 0 = a free one); record url/port/pid."""
    gw = Gateway(folder)
    # The redactor compiles its patterns on first use (~150 ms): pay that before the
    # port is announced, not in the first request of the first lane.
    Redactor(key=gw.key).redact("warm up: sk-ant-api03-0000 password=x")
    runner = web.AppRunner(gw.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    server = site._server
    assert server is not None
    bound = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    atomic_private_json(folder / INFO, {
        "url": f"http://127.0.0.1:{bound}", "port": bound, "pid": os.getpid(),
        "started": gw.started,
        "keys": held_names(),  # which handed-over key variables it holds (names only)
    })
    return runner, bound
