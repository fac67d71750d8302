"""Preflight's static checks: pure functions of a loaded config (no process, no network).

Why separate from the probes: each one is unit-testable on a small config, and a
`--offline` run is exactly these plus the local reads.
"""

from __future__ import annotations

from laneboard.config import TIER_ORDER, WRITABLE_FENCES, Config, LoadedConfig
from laneboard.core.harness_kinds import kind
from laneboard.lanes.preflight.report import (
    DEFAULT_OLLAMA_URL,
    Check,
    describe,
    is_loopback_url,
    lane_views,
    ollama_providers,
)
from laneboard.lanes.refs import Catalog, Resolution, normalize_provider, ref_sites, resolve


def _tier(res: Resolution) -> str:
    entry = res.catalog_entry.entry if res.catalog_entry else None
    return entry.tier if entry else "orchestrator"


# ---------------------------------------------------------------- models


def check_models(loaded: LoadedConfig) -> list[Check]:
    """models.resolve, models.allowed, models.aliases, fallback.provider."""
    cfg = loaded.config
    catalog = Catalog.from_config(cfg)
    out: list[Check] = []
    resolve_fails: list[Check] = []
    allow_fails: list[Check] = []
    fb_fails: list[Check] = []
    configured = {normalize_provider(k) for k in cfg.providers}
    n_sites = 0
    for raw, path, subject, is_fb in ref_sites(cfg):
        n_sites += 1
        res = resolve(catalog, raw)
        where = f"{loaded.locate(path)}"
        if res.error_kind == "not-allowed":
            allow_fails.append(
                Check(
                    "models.allowed",
                    "fail",
                    subject,
                    f"{res.error} ({where})",
                    res.hint or "add it to `models:` or pick a listed model",
                )
            )
        elif not res.ok:
            resolve_fails.append(
                Check(
                    "models.resolve",
                    "fail",
                    subject,
                    f"{raw!r}: {res.error} ({where})",
                    res.hint or "write provider/model or an alias from `models:`",
                )
            )
        elif is_fb and res.provider not in configured:
            fb_fails.append(
                Check(
                    "fallback.provider",
                    "fail",
                    subject,
                    f"fallback {res.key} runs on provider {res.provider!r}, which is not "
                    f"configured ({where})",
                    f"add `providers.{res.provider}` or drop the fallback: a chain onto a "
                    "provider you don't run silently drops quality",
                )
            )
    # The mapping of every lane that resolves is shown even when another lane is broken:
    # "which model does this agent get?" is the question preflight exists to answer.
    broken = {c.subject for c in resolve_fails + allow_fails}
    out += resolve_fails
    for view in lane_views(cfg):
        subject = f"lane {view.lane_id}"
        refs = ([view.primary] if view.primary else []) + list(view.fallbacks)
        if subject in broken or not all(r.ok for r in refs):
            continue  # its failure is reported where the bad ref is written
        if view.primary is None:
            out.append(Check("models.resolve", "ok", subject, "runs no model (command lane)"))
            continue
        text = describe(view.primary)
        if view.fallbacks:
            text += "; fallbacks: " + ", ".join(describe(f) for f in view.fallbacks)
        out.append(Check("models.resolve", "ok", subject, text))
    if cfg.artifacts.embed_model and "artifacts.embed_model" not in broken:
        embed = describe(resolve(catalog, cfg.artifacts.embed_model))
        out.append(Check("models.resolve", "ok", "artifacts.embed_model", embed))
    out += allow_fails or [
        Check("models.allowed", "ok", "all refs", f"{n_sites} refs, all in the allowlist")
    ]
    out += _alias_checks(loaded)
    out += fb_fails or [
        Check("fallback.provider", "ok", "all fallbacks", "every fallback's provider is configured")
    ]
    return out


def _alias_checks(loaded: LoadedConfig) -> list[Check]:
    cfg = loaded.config
    fails: list[Check] = []
    seen: dict[str, str] = {}
    model_ids: dict[str, list[str]] = {}
    for key in cfg.models:
        if "/" in key:
            model_ids.setdefault(key.split("/", 1)[1].strip().casefold(), []).append(key)
    for key, entry in cfg.models.items():
        if not entry.alias:
            continue
        where = loaded.locate(("models", key, "alias"))
        folded = entry.alias.casefold()
        if folded in seen:
            fails.append(
                Check(
                    "models.aliases",
                    "fail",
                    f"alias {entry.alias}",
                    f"used by both {seen[folded]} and {key} ({where})",
                    "aliases are case-insensitive; give each model its own",
                )
            )
            continue
        seen[folded] = key
        shadowed = [k for k in model_ids.get(folded, []) if k != key]
        if shadowed:
            fails.append(
                Check(
                    "models.aliases",
                    "fail",
                    f"alias {entry.alias}",
                    f"alias of {key} shadows the model id of {', '.join(shadowed)} ({where}): "
                    f"a bare {entry.alias!r} would not mean {shadowed[0]}",
                    "rename the alias so it is not also a configured model id",
                )
            )
    return fails or [
        Check(
            "models.aliases",
            "ok",
            "all aliases",
            f"{len(seen)} aliases, unique, none shadowing a model id",
        )
    ]


# ---------------------------------------------------------------- policy


def _takes_untrusted(cfg: Config, lane_id: str) -> bool:
    lane = cfg.lanes[lane_id]
    return lane.input == "untrusted" or (
        cfg.routing is not None and cfg.routing.untrusted == lane_id
    )


def check_policy(cfg: Config) -> list[Check]:
    """The four fence/tier rules, over each lane's whole chain."""
    out: list[Check] = []
    views = {v.lane_id: v for v in lane_views(cfg)}
    cheap: list[Check] = []
    untrusted: list[Check] = []
    leak: list[Check] = []
    review: list[Check] = []
    for lane_id, lane in cfg.lanes.items():
        chain = views[lane_id].chain
        subject = f"lane {lane_id}"
        if lane.fence in WRITABLE_FENCES:
            for res, is_fb in chain:
                if TIER_ORDER[_tier(res)] <= TIER_ORDER["cheap"]:
                    through = " through a fallback" if is_fb else ""
                    cheap.append(
                        Check(
                            "policy.cheap-writable",
                            "fail",
                            subject,
                            f"{lane.fence} lane can run {res.key} ({_tier(res)} tier){through}: "
                            "a cheap model with write access is the trap",
                            "give the lane orchestrator-tier models only, or fence it read-only",
                        )
                    )
        if _takes_untrusted(cfg, lane_id):
            for res, is_fb in chain:
                if TIER_ORDER[_tier(res)] < TIER_ORDER["orchestrator"]:
                    which = "fallback" if is_fb else "model"
                    untrusted.append(
                        Check(
                            "policy.untrusted-tier",
                            "fail",
                            subject,
                            f"takes untrusted input but its {which} {res.key} is {_tier(res)} tier",
                            "untrusted text goes only to orchestrator-tier models: change the "
                            f"{which}, or stop routing untrusted input to {lane_id}",
                        )
                    )
        if lane_id == cfg.default_lane or lane.role == "helper":
            for res, is_fb in chain:
                if _tier(res) == "escalation":
                    why = "the default lane" if lane_id == cfg.default_lane else "a helper lane"
                    leak.append(
                        Check(
                            "policy.escalation-trivial",
                            "warn",
                            subject,
                            f"{res.key} (escalation tier) on {why}"
                            + (" as a fallback" if is_fb else "")
                            + ": the slow leak",
                            "escalation models are for reviews and judgment; use an "
                            "orchestrator-tier or cheaper model here",
                        )
                    )
        if lane.role == "reviewer" and lane.fence in WRITABLE_FENCES:
            review.append(
                Check(
                    "policy.review-readonly",
                    "fail",
                    subject,
                    f"reviewer lane has fence {lane.fence}: reviews must not write",
                    f"set `lanes.{lane_id}.fence: plan` (or read-only)",
                )
            )
    out += cheap or [
        Check(
            "policy.cheap-writable",
            "ok",
            "writable lanes",
            "no local or cheap model on a writable lane",
        )
    ]
    out += untrusted or [
        Check(
            "policy.untrusted-tier",
            "ok",
            "untrusted lanes",
            "untrusted input reaches orchestrator tier or above only",
        )
    ]
    out += leak or [
        Check(
            "policy.escalation-trivial",
            "ok",
            "default and helper lanes",
            "no escalation model on trivial lanes",
        )
    ]
    out += review or [
        Check(
            "policy.review-readonly",
            "ok",
            "reviewer lanes",
            "reviewers run in plan mode or read-only",
        )
    ]
    return out


#: What preflight and `config check` say about a command lane's fence, plainly.
COMMAND_DENY_NOTE = (
    "fences.deny cannot apply inside an arbitrary program; the sandbox enforces the fence"
)


def check_command_sandbox(cfg: Config) -> list[Check]:
    """Command lanes: the deny list cannot reach inside them, so say what holds the fence.

    A fenced command lane runs inside bubblewrap (`harnesses.sandbox`) and is refused at
    start without it; `full` runs unsandboxed. Saying so here keeps preflight from implying
    a protection (the deny list) that the lane does not have.
    """
    import shutil

    out: list[Check] = []
    bwrap = shutil.which("bwrap")
    for lane_id, lane in cfg.lanes.items():
        if not kind(lane.harness).sandboxed:
            continue
        subject = f"lane {lane_id}"
        if lane.host is not None and lane.fence != "full":
            continue  # bwrap on its host: host.sandbox (preflight.hosts) starts it there
        if lane.fence == "full":
            out.append(
                Check(
                    "policy.command-sandbox", "warn", subject,
                    "fence full: no sandbox, and fences.deny cannot apply inside an arbitrary "
                    "program — nothing limits what this lane does",
                    f"set `lanes.{lane_id}.fence: workspace-write` (or read-only) to run it "
                    "in the bubblewrap sandbox",
                )
            )
        elif bwrap is None:
            out.append(
                Check(
                    "policy.command-sandbox", "fail", subject,
                    f"fence {lane.fence} needs the bubblewrap sandbox and `bwrap` is not "
                    f"installed: the lane will not start ({COMMAND_DENY_NOTE})",
                    "install bubblewrap (apt-get install bubblewrap)",
                )
            )
        else:
            writable = "its cwd and a private /tmp" if lane.fence == "workspace-write" else (
                "only a private /tmp"
            )
            out.append(
                Check(
                    "policy.command-sandbox", "ok", subject,
                    f"{COMMAND_DENY_NOTE} (bubblewrap, fence {lane.fence}: {writable} "
                    "writable)",
                )
            )
    return out


def check_ollama_loopback(cfg: Config) -> list[Check]:
    """Static half of ollama.loopback: the configured base_url must be loopback."""
    out: list[Check] = []
    for name, p in ollama_providers(cfg).items():
        url = (p.base_url if p else None) or DEFAULT_OLLAMA_URL
        if not is_loopback_url(url):
            out.append(
                Check(
                    "ollama.loopback",
                    "warn",
                    f"provider {name}",
                    f"base_url {url} is not a loopback address",
                    "run Ollama on 127.0.0.1 (OLLAMA_HOST=127.0.0.1) and point base_url there",
                )
            )
    return out or [Check("ollama.loopback", "ok", "ollama", "Ollama base_url is loopback")]


#: What a lane with `gateway: false` gives up: the gateway's guarantees, plainly.
GATEWAY_LOSSES = (
    "secrets an agent reads from files are not redacted on the wire; tool calls are not "
    "checked against fences.deny on the wire (only the CLI's own enforcement holds); no "
    "failover inside a request; no token or cost counting; no `turn` artifacts"
)


def check_gateway(cfg: Config) -> list[Check]:
    """policy.gateway: a model-talking lane that opted out of the gateway (`gateway:
    false`) is warned about, naming what it loses, so the opt-out is a decision."""
    from laneboard.core.harness_kinds import kind as harness_kind
    from laneboard.lanes.gateway_route import CHATGPT_LOGIN_DIRECT, chatgpt_login

    out: list[Check] = []
    for lane_id, lane in cfg.lanes.items():
        if lane.gateway and chatgpt_login(cfg, lane_id):
            # ok, not warn: a ChatGPT-login Codex is the shipped set-up and staying direct
            # is the decision (#14), not a mistake; the check still names what it loses
            out.append(
                Check(
                    "policy.gateway", "ok", f"lane {lane_id}",
                    f"stays direct — {CHATGPT_LOGIN_DIRECT}; it loses: {GATEWAY_LOSSES}",
                    f"give lane {lane_id}'s provider an api_key_env (an OpenAI API key) to "
                    "route it through the gateway, or set `gateway: false` to say so",
                )
            )
            continue
        if lane.gateway or harness_kind(lane.harness).base_url_via == "none":
            continue
        out.append(
            Check(
                "policy.gateway", "warn", f"lane {lane_id}",
                f"gateway: false — the lane talks to its provider directly: {GATEWAY_LOSSES}",
                f"remove `lanes.{lane_id}.gateway: false` to route it through the gateway",
            )
        )
    return out


def static_checks(loaded: LoadedConfig) -> list[Check]:
    """Every check that needs only the config."""
    cfg = loaded.config
    return (
        check_models(loaded)
        + check_policy(cfg)
        + check_command_sandbox(cfg)
        + check_ollama_loopback(cfg)
        + check_gateway(cfg)
    )
