"""Pointing a lane's HarnessSpec at laneboard's gateway instead of its provider.

Why here and not in the harnesses: a harness only knows the URL it is given. Which lanes go
through the gateway (every model-talking lane unless `gateway: false`), what the gateway
forwards to (the provider's `base_url`, else the provider's public endpoint), which models
it may fail over to and what they cost are config questions, answered in the lanes layer
like the rest of `build_spec`. The harness then gets the gateway URL where it would have
had the provider's, in its own shape (`gateway.client.lane_base_url`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from laneboard.config import Config
from laneboard.core.harness_kinds import kind
from laneboard.errors import ModelRefError
from laneboard.gateway.client import GatewayInfo, route_lane
from laneboard.gateway.statefiles import USAGE, read_json
from laneboard.harnesses.base import HarnessSpec, Usage
from laneboard.harnesses.private_fs import socket_tag
from laneboard.lanes.redaction import artifacts_root
from laneboard.lanes.refs import ResolvedModel, lane_chain
from laneboard.lanes.tool_routes import gateway_tools

#: What a Codex lane signed in with ChatGPT does not get, said by preflight.
CHATGPT_LOGIN_DIRECT = (
    "a Codex lane signed in with ChatGPT (its provider names no base_url and no "
    "api_key_env) talks to OpenAI directly: the gateway cannot carry that login, and "
    "moving the lane to a separate CODEX_HOME would lose it"
)


def chatgpt_login(cfg: Config, lane_id: str) -> bool:
    """Whether `lane_id` is a Codex lane on its ChatGPT login: its provider (the lane's
    own, else its primary model's) names neither a `base_url` nor an `api_key_env`.

    Why it stays direct (the lead's decision): such a Codex authenticates with the
    ChatGPT tokens in its own CODEX_HOME, which the gateway's `-c model_providers…`
    override (an `env_key`) cannot carry; pointing it at the gateway would log it out.
    """
    lane = cfg.lanes[lane_id]
    if not kind(lane.harness).own_login:
        return False
    provider_id = lane.provider
    if provider_id is None:
        try:
            chain = lane_chain(cfg, lane_id, strict=True)
        except ModelRefError:
            chain = []
        provider_id = chain[0].provider if chain else None
    provider = cfg.providers.get(provider_id) if provider_id else None
    return provider is None or not (provider.base_url or provider.api_key_env)


def uses_gateway(cfg: Config, lane_id: str) -> bool:
    """Whether `lane_id`'s requests go through the gateway (a model-talking lane that
    did not opt out and is not a ChatGPT-login Codex, see `chatgpt_login`)."""
    lane = cfg.lanes[lane_id]
    return (lane.gateway and kind(lane.harness).base_url_via != "none"
            and not chatgpt_login(cfg, lane_id))


def upstream_of(spec: HarnessSpec) -> str:
    """The URL the gateway forwards this lane's requests below: for the HTTP harnesses
    the URL the harness itself would have requested (its own normalisation and
    environment fallbacks, so the gateway is transparent); for the CLIs the provider's
    `base_url`, else the provider's public endpoint."""
    k = kind(spec.harness)
    if k.url_normaliser is not None:
        env = {**os.environ, **spec.env}
        fallback = env.get(k.url_from_env) if k.url_from_env else None
        return k.normalise_url(spec.base_url or fallback) or ""
    return spec.base_url or k.public_endpoint or ""


def _cost(cfg: Config, cand: ResolvedModel) -> dict[str, float] | None:
    entry = cfg.models.get(cand.key)
    cost = entry.cost if entry is not None else None
    return cost.model_dump(exclude_none=True) if cost is not None else None


def provider_key_env(cfg: Config, provider_id: str | None) -> str | None:
    """The variable holding `provider_id`'s key: its `api_key_env`, else its harness's
    default (as every harness resolves it); None: unknown provider or none."""
    provider = cfg.providers.get(provider_id) if provider_id else None
    if provider is None:
        return None
    return provider.api_key_env or kind(provider.harness).key_env


def _fallback(cfg: Config, spec: HarnessSpec, cand: ResolvedModel) -> dict[str, Any] | None:
    """A fallback the gateway may try inside one request: only one that speaks the lane's
    protocol (its provider runs the same harness kind), since the gateway forwards the
    CLI's request body as it is. It carries its provider and key variable: a fallback on
    another provider than the lane's gets its own key from the gateway's environment,
    never the lane's headers (`gateway.route_auth`)."""
    provider = cfg.providers.get(cand.provider)
    if provider is None or provider.harness != spec.harness:
        return None
    key_env = provider_key_env(cfg, cand.provider)
    return {
        "base_url": provider.base_url or kind(spec.harness).public_endpoint,
        "model": cand.provider_id,
        "profile": cand.profile or cand.provider,
        "cost": _cost(cfg, cand),
        "provider": cand.provider,
        "key_env": key_env,
        "keyless": key_env is None and kind(provider.harness).auth_probe == "none",
    }


def gateway_key_names(cfg: Config) -> list[str]:
    """Every key variable the gateway may need: the one of each configured provider (a
    lane's fallbacks and routed tools go to them with their own key)."""
    names = {provider_key_env(cfg, pid) for pid in cfg.providers}
    return sorted(n for n in names if n)


def gateway_keys(cfg: Config, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of `gateway_key_names` where lanes get their keys too: this process's
    environment (the supervisor's), else a lane's `env:` that sets the variable. Handed
    to the gateway when it is spawned (`gateway.client.ensure_gateway`), never through a
    file or argv."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name in gateway_key_names(cfg):
        value = env.get(name, "").strip()
        if not value:
            value = next((lane.env[name].strip() for lane in cfg.lanes.values()
                          if lane.env.get(name, "").strip()), "")
        if value:
            out[name] = value
    return out


def gateway_spec(
    cfg: Config,
    spec: HarnessSpec,
    info: GatewayInfo,
    model: ResolvedModel | None,
    fallbacks: Sequence[ResolvedModel],
    *,
    strict: bool,
    workspace: Path | None = None,
) -> HarnessSpec:
    """`spec` with its base URL replaced by the lane's gateway URL (the lane registered).

    The primary candidate keeps the model the CLI asks for (None: the body is forwarded
    as the CLI wrote it); the provider key's value is handed to the gateway as a known
    secret so it is redacted wherever a tool result or prompt repeats it. With
    `workspace`, the gateway keeps each of the lane's requests as a `turn` artifact in
    the config's artifact folder (relative to it).
    """
    if kind(spec.harness).own_login and not (spec.base_url or spec.api_key_env):
        return spec  # a ChatGPT login (e.g. after `/model` onto such a provider): direct
    upstream = upstream_of(spec)
    key_env = spec.api_key_env or kind(spec.harness).key_env
    merged_env = {**os.environ, **spec.env}
    secret = merged_env.get(key_env) if key_env else None
    # In-request failover is for the agent CLIs, which cannot switch provider mid-turn;
    # an HTTP lane's own failover (the supervisor's) already works per request and shows
    # the switch, which the gateway's would hide.
    in_request = kind(spec.harness).transport == "tmux"
    chain = [f for f in (_fallback(cfg, spec, c) for c in fallbacks) if f is not None]
    lane_cfg = cfg.lanes.get(spec.lane)
    home = model.provider if model else (lane_cfg.provider if lane_cfg else None)
    fields: dict[str, Any] = {
        "base_url": upstream,
        "model": None,
        # the lane's own provider: only a fallback of the same one gets the CLI's headers
        "provider": home,
        "key_env": key_env,
        "profile": (model.profile or model.provider) if model else None,
        "cost": _cost(cfg, model) if model else None,
        "fallbacks": chain if in_request and not strict else [],
        "strict": strict,
        "deny": tuple(cfg.fences.deny),
        "secrets": (secret,) if secret and len(secret) >= 8 else (),
        "artifacts": str(artifacts_root(cfg, workspace)) if workspace is not None else None,
        "tools": gateway_tools(cfg, spec.lane) if spec.lane in cfg.lanes else [],
    }
    url = route_lane(info, spec.lane, spec.harness, fields)
    return dataclasses.replace(spec, base_url=url, api_key_env=key_env)


def usage_file(state: Path, socket: str | None) -> Path:
    """The gateway's per-lane counts (read, never created, from the lanes layer)."""
    return state / f"gateway-{socket_tag(socket or 'default')}" / USAGE


def degenerate_cuts(state: Path, socket: str | None, lane: str) -> int:
    """How many of `lane`'s streams the gateway's watchdog has cut (0: none or unknown)."""
    raw = read_json(usage_file(state, socket))
    vals = raw.get(lane) if isinstance(raw, dict) else None
    try:
        return int(vals.get("degenerate") or 0) if isinstance(vals, dict) else 0
    except (TypeError, ValueError):
        return 0


def gateway_usage(state: Path, socket: str | None) -> dict[str, Usage]:
    """Per lane, the tokens and cost the gateway counted from the API's own usage fields
    (cumulative, like the state file). Read without creating anything: a session whose
    gateway never ran has no counts."""
    raw = read_json(usage_file(state, socket))
    out: dict[str, Usage] = {}
    if not isinstance(raw, dict):
        return out
    for lane, vals in raw.items():
        if not isinstance(vals, dict):
            continue
        try:
            cost = vals.get("cost_usd")
            out[str(lane)] = Usage(
                input_tokens=int(vals.get("input_tokens") or 0),
                output_tokens=int(vals.get("output_tokens") or 0),
                cached_tokens=int(vals.get("cache_read_tokens") or 0),
                cost_usd=float(cost) if cost is not None else None,
            )
        except (TypeError, ValueError):
            continue
    return out
