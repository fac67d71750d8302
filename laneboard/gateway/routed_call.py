"""Asking a routed model for one tool call: its chain, its credentials, its answer.

Why apart from the server: a routed call is a small request of its own — the primary's
body with the tool choice forced (`tool_routing.forced_body`), sent down the routed lane's
candidate chain with OpenClaw's failover (429 / 5xx / auth / unreachable move on, a
failed profile cools), each candidate with the credential that belongs to its provider
(`route_auth`) — whose answer is only the input of one call. Whatever goes wrong (no
credential, every candidate failing, no such call in the answer), the answer is None and
the primary's own call stands: routing never costs a lane its turn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from laneboard.gateway.counters import Counters
from laneboard.gateway.protocols import Protocol, Usage, take_usage
from laneboard.gateway.registry import Candidate
from laneboard.gateway.relays import PendingCall
from laneboard.gateway.route_auth import routed_headers
from laneboard.gateway.tool_routing import forced_body, routed_input
from laneboard.gateway.upstream import Cooldowns, failover_status, target_url

log = logging.getLogger("laneboard.gateway")

MAX_ROUTED_BODY = 32 * 1024 * 1024


async def ask_routed(
    session: aiohttp.ClientSession,
    cooldowns: Cooldowns,
    counters: Counters,
    lane: str,
    proto: Protocol,
    rest: str,
    query: str,
    caller: Mapping[str, str],
    body: Any,
    pending: PendingCall,
    environ: Mapping[str, str],
) -> tuple[Any, str | None]:
    """(the routed model's input for `pending`'s call, the model that answered), or
    (None, None): the primary's call stands. Its tokens and hops count to `lane`; a route
    no candidate of which has a credential sets `pending.skipped` and counts
    `routes_skipped`."""
    tool, target = pending.tool, pending.route
    forced = forced_body(proto, body, tool, pending.kind)
    if forced is None:
        return None, None
    usable: list[tuple[Candidate, Any]] = []
    why: list[str] = []
    for cand in cooldowns.order(target.candidates):
        headers = routed_headers(proto, caller, target, cand, environ)
        if isinstance(headers, str):
            why.append(headers)
        else:
            usable.append((cand, headers))
    counts = counters.lane(lane)
    if not usable:
        counts.routes_skipped += 1
        pending.skipped = "; ".join(why) or "no candidate"
        log.warning("lane %s: route skipped: %s — tool %s stays with the primary",
                    lane, pending.skipped, tool)
        return None, None
    for reason in why:
        log.info("lane %s: routed tool %s: a candidate of lane %s skipped (%s)",
                 lane, tool, target.lane, reason)
    for i, (cand, headers) in enumerate(usable):
        data = json.dumps({**forced, "model": cand.model} if cand.model else forced,
                          ensure_ascii=False).encode()
        label = cand.model or cand.base_url
        try:
            resp = await session.request("POST", target_url(cand.base_url, rest, query),
                                         data=data, headers=headers, allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError):
            cooldowns.cool(cand.profile, None)
            counts.fallbacks += 1 if i + 1 < len(usable) else 0
            log.info("lane %s: routed tool %s: %s unreachable", lane, tool, label)
            continue
        try:
            if failover_status(resp.status):
                cooldowns.cool(cand.profile, resp.headers.get("Retry-After"))
                counts.fallbacks += 1 if i + 1 < len(usable) else 0
                log.info("lane %s: routed tool %s: %s answered HTTP %d", lane, tool, label,
                         resp.status)
                continue
            if resp.status >= 400:
                log.warning("lane %s: routed tool %s: HTTP %d from lane %s's model; the "
                            "primary's call stands", lane, tool, resp.status, target.lane)
                return None, None
            payload = await resp.content.read(MAX_ROUTED_BODY + 1)
            parsed = json.loads(payload) if len(payload) <= MAX_ROUTED_BODY else None
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            log.warning("lane %s: routed tool %s failed: %s", lane, tool, type(e).__name__)
            return None, None
        finally:
            resp.release()
        usage = Usage()
        take_usage(proto, parsed, usage)
        if usage.seen:
            counters.add_usage(lane, usage, cand.cost)
        new_input = routed_input(proto, parsed, tool, pending.kind)
        model = cand.model or (str(parsed.get("model"))
                               if isinstance(parsed, dict) and parsed.get("model") else None)
        if new_input is None:
            log.warning("lane %s: routed tool %s: lane %s's model made no such call; the "
                        "primary's call stands", lane, tool, target.lane)
            return None, None
        log.info("lane %s: tool %s answered by lane %s (%s)", lane, tool, target.lane, model)
        return new_input, model
    log.warning("lane %s: routed tool %s: lane %s's models failed; the primary's call "
                "stands", lane, tool, target.lane)
    return None, None
