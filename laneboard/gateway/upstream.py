"""Sending a lane's request to its provider, moving down the candidate chain on failure.

Failover follows OpenClaw's semantics: a configured default and its fallbacks move to the
next candidate on 429, 5xx, auth failures, timeouts and refused connections, inside the
same request, before the CLI sees anything; a provider profile that failed is cooled down
(its `Retry-After`, else `COOLDOWN_S`) and skipped by later requests while it cools
(tried last rather than never, so a chain whose every profile cools still answers).
A strict choice (a model the user picked) has one candidate: its failure goes back to the
CLI as the provider sent it, visibly.

Headers: the client's own (its auth included) go to the lane's own provider untouched and
are never logged; hop-by-hop headers and `accept-encoding` are dropped, so the gateway
reads plain bytes it can inspect. A fallback on ANOTHER provider must not see the lane's
key: the caller passes `auth`, which gives each candidate its own headers or the reason it
cannot be asked (`gateway.route_auth.provider_headers`: that provider's key from the
gateway's environment, none: the candidate is skipped and the reason kept in
`Attempt.skipped`, never a value).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp
from multidict import CIMultiDict

from laneboard.core.http_status import kind_for_status
from laneboard.gateway.registry import Candidate

COOLDOWN_S = 30.0
CONNECT_TIMEOUT_S = 10.0
#: A stream may be silent this long between bytes (a model thinking) before it is dead.
READ_TIMEOUT_S = 300.0

HOP = frozenset({
    "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te",
    "trailer", "upgrade", "proxy-authorization", "proxy-connection", "accept-encoding",
})


def forward_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for k, v in headers.items():
        if k.lower() not in HOP:
            out.add(k, v)
    out["Accept-Encoding"] = "identity"
    return out


def failover_status(status: int) -> bool:
    if status < 400:  # kind_for_status calls every non-4xx "server", a 200 included
        return False
    kind = kind_for_status(status)
    return kind in ("auth", "rate-limit", "server") and status != 501


class Cooldowns:
    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def cool(self, profile: str, retry_after: str | None) -> None:
        seconds = COOLDOWN_S
        if retry_after:
            with contextlib.suppress(ValueError):
                seconds = min(max(float(retry_after), 0.0), 3600.0)
        self._until[profile] = time.monotonic() + seconds

    def cooling(self, profile: str) -> bool:
        return self._until.get(profile, 0.0) > time.monotonic()

    def order(self, cands: Sequence[Candidate]) -> list[Candidate]:
        warm = [c for c in cands if not self.cooling(c.profile)]
        return warm + [c for c in cands if c not in warm]


@dataclass
class Attempt:
    """The outcome of the chain: the response to relay (or None), and what happened."""

    response: aiohttp.ClientResponse | None
    candidate: Candidate | None
    hops: list[str]
    error: str = ""
    body: bytes = b""
    """A failed last attempt's body (already read), relayed to the CLI as is."""
    status: int = 502
    """The status a CLI gets when `response` is None."""
    retry_after: str | None = None
    skipped: list[str] = field(default_factory=list)
    """Candidates left out for want of a credential: `<model>: <reason naming the
    variable>` (never a value)."""


def target_url(base: str, rest: str, query: str) -> str:
    url = base.rstrip("/") + "/" + rest.lstrip("/")
    return f"{url}?{query}" if query else url


async def send_chain(
    session: aiohttp.ClientSession,
    cands: Sequence[Candidate],
    method: str,
    rest: str,
    query: str,
    headers: Mapping[str, str],
    body_for: dict[str | None, bytes],
    cooldowns: Cooldowns,
    *,
    strict: bool,
    auth: Callable[[Candidate, bool], CIMultiDict[str] | str] | None = None,
) -> Attempt:
    """Try candidates in order; return the first response that is not a failover failure.

    `body_for[model]` is the request body with that model written in (None: unchanged).
    `auth(candidate, is_primary)`: its headers, or why it cannot be asked (it is then
    skipped before anything is sent to it); None: `headers` for every candidate (only
    for a chain of one provider).
    """
    hops: list[str] = []
    skipped: list[str] = []
    sendable: list[tuple[Candidate, CIMultiDict[str]]] = []
    for i, cand in enumerate(list(cands[:1]) if strict else cands):
        got = forward_headers(headers) if auth is None else auth(cand, i == 0)
        if isinstance(got, str):
            skipped.append(f"{cand.model or cand.base_url}: {got}")
        else:
            sendable.append((cand, got))
    # cooling profiles last, as `Cooldowns.order` (pairs: a Candidate holds a dict)
    cooling = [cooldowns.cooling(c.profile) for c, _ in sendable]
    order = sendable if strict else (
        [p for p, cool in zip(sendable, cooling, strict=True) if not cool]
        + [p for p, cool in zip(sendable, cooling, strict=True) if cool])
    last: Attempt = Attempt(None, None, hops, "no upstream configured", skipped=skipped)
    if not order and skipped:
        last.error = "no candidate left: " + "; ".join(skipped)
    for i, (cand, fwd) in enumerate(order):
        final = i == len(order) - 1
        data = body_for.get(cand.model, body_for[None])
        try:
            resp = await session.request(
                method, target_url(cand.base_url, rest, query), data=data, headers=fwd,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            cooldowns.cool(cand.profile, None)
            hops.append(f"{cand.model or cand.base_url}: unreachable")
            last = Attempt(None, cand, hops, f"upstream unreachable: {type(e).__name__}",
                           skipped=skipped)
            continue
        if failover_status(resp.status) and not final and not strict:
            cooldowns.cool(cand.profile, resp.headers.get("Retry-After"))
            hops.append(f"{cand.model or cand.base_url}: HTTP {resp.status}")
            resp.release()
            continue
        if failover_status(resp.status):
            cooldowns.cool(cand.profile, resp.headers.get("Retry-After"))
        return Attempt(resp, cand, hops, skipped=skipped)
    if skipped and order:
        last.error += f" and no fallback left ({'; '.join(skipped)})"
    return last
