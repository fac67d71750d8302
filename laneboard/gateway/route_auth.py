"""Whose credential a request to another candidate carries: routed calls and failover.

Why this matters: the lane's client (Claude Code, Codex, an HTTP harness) sends its own
provider's key in its auth headers. The gateway may send a request of that lane to a
candidate of another provider — a routed tool call (see `gateway.tool_routing`) or a
fallback after the primary failed (`gateway.upstream.send_chain`). Forwarding the
caller's headers there would hand the lane's key to a third party. So, for both:

- the lane's own provider (`home`, the lane's primary candidate's provider, equal to
  `Candidate.provider`): the caller's headers pass through untouched, exactly as for the
  lane's own request; the primary candidate itself always gets them (`own=True`);
- another provider: only protocol headers from an allow-list survive (never auth,
  cookies, account or organisation ids), and the provider's own key is read from the
  gateway's environment (`Candidate.key_env`, the provider's `api_key_env` or its
  harness's default variable, as laneboard resolves it everywhere) and written in the
  protocol's auth header; a provider that takes no key (a local Ollama) gets none;
- no key to be had: the candidate is skipped (a message naming the variable, never a
  value): a routed call whose every candidate is skipped leaves the primary's call
  standing ("route skipped: no credential"); a failover with no candidate left gives the
  CLI an error in its own protocol naming why.

An unknown provider on either side counts as "another provider": the lane's key only goes
where the config says it belongs.
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict

from laneboard.gateway.protocols import Protocol
from laneboard.gateway.registry import Candidate, ToolRoute
from laneboard.gateway.upstream import forward_headers

#: What a request to another provider keeps of the caller's headers: the protocol's own
#: (content type, API version and beta flags), nothing that identifies or authorises.
FOREIGN_KEEP = frozenset({
    "content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta",
    "user-agent",
})


def same_provider(home: str | None, cand: Candidate) -> bool:
    """Whether `cand` is the lane's own provider `home` (both known and equal)."""
    return home is not None and cand.provider is not None and home == cand.provider


def provider_headers(
    proto: Protocol,
    caller: Mapping[str, str],
    home: str | None,
    cand: Candidate,
    environ: Mapping[str, str],
    *,
    own: bool = False,
) -> CIMultiDict[str] | str:
    """The headers for `cand` of a lane whose provider is `home` (`own`: `cand` is the
    lane's primary), or why it cannot be asked (a message naming no secret)."""
    if own or same_provider(home, cand):
        return forward_headers(caller)
    out: CIMultiDict[str] = CIMultiDict()
    for k, v in caller.items():
        if k.lower() in FOREIGN_KEEP:
            out.add(k, v)
    out["Accept-Encoding"] = "identity"
    if cand.key_env:
        key = environ.get(cand.key_env, "").strip()
        if not key:
            return (f"no credential: ${cand.key_env} (provider "
                    f"{cand.provider or cand.base_url}) is not set in the gateway's environment")
        if proto == "anthropic":
            out["x-api-key"] = key
        else:
            out["Authorization"] = f"Bearer {key}"
        return out
    if cand.keyless:
        return out
    return (f"no credential: provider {cand.provider or cand.base_url} names no api_key_env "
            "and is not the lane's own provider")


def routed_headers(
    proto: Protocol,
    caller: Mapping[str, str],
    route: ToolRoute,
    cand: Candidate,
    environ: Mapping[str, str],
) -> CIMultiDict[str] | str:
    """The headers of a routed call to `cand` (the lane's provider is `route.home`)."""
    return provider_headers(proto, caller, route.home, cand, environ)
