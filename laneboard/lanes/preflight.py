"""`laneboard preflight`: check every agent→model mapping before anything spawns.

One team spawned Opus for code generation because a coder agent was misconfigured; the
fix is to look before spawning. Preflight runs named checks with stable ids, each giving a
status (ok / warn / fail / skip), the subject it judged, what it found and how to fix it:

    config.load                the file loads
    models.resolve             every lane model, fallback, default and embed model resolves
    models.allowed             … and is in the allowlist
    models.aliases             aliases are unique and do not shadow a configured model id
    fallback.provider          every fallback runs on a configured provider
    policy.cheap-writable      no local/cheap model on a writable lane (fallbacks included)
    policy.untrusted-tier      untrusted input only to orchestrator tier or above, whole chain
    policy.escalation-trivial  no escalation model on the default lane or a helper (warn)
    policy.review-readonly     reviewers run in plan mode or read-only
    ollama.loopback            Ollama is reached (and, live, listens) on loopback only
    tmux.available, cli.installed, auth.present, ollama.reachable, ollama.models,
    tmux.review-session, artifacts.writable        live checks (laneboard.lanes.probes)
    openclaw.agents, openclaw.fallbacks, openclaw.memory, openclaw.acpx
                               with --openclaw (laneboard.lanes.openclaw)

The static checks are pure functions of a loaded config, so every one is unit-testable on
a small config. Live probes run concurrently with short per-probe timeouts; `offline`
skips the ones that touch the network or spawn a process.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from laneboard.config import (
    TIER_ORDER,
    WRITABLE_FENCES,
    Config,
    LoadedConfig,
    ProviderConfig,
    load_config,
    load_effective,
)
from laneboard.errors import ConfigError
from laneboard.lanes.refs import (
    Catalog,
    Resolution,
    lane_refs,
    normalize_provider,
    ref_sites,
    resolve,
)

Status = Literal["ok", "warn", "fail", "skip"]
GROUPS = ("config", "models", "policy", "environment", "openclaw")
_GROUP_OF = {
    "config": "config",
    "models": "models",
    "fallback": "models",
    "policy": "policy",
    "openclaw": "openclaw",
}
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class Check:
    """One finding. `fix` is non-empty for every warn and fail: a problem without a way
    out is just noise."""

    id: str
    status: Status
    subject: str
    message: str
    fix: str = ""

    @property
    def group(self) -> str:
        return _GROUP_OF.get(self.id.split(".", 1)[0], "environment")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix or None,
        }


@dataclass
class Report:
    """Every check of one run, plus what was checked."""

    checks: list[Check] = field(default_factory=list)
    source: str = ""
    openclaw: str | None = None
    offline: bool = False
    config_error: bool = False
    agents: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("ok", "warn", "fail", "skip")}
        for c in self.checks:
            out[c.status] += 1
        return out

    def exit_code(self, check: bool) -> int:
        """0 ok; with `check`: 1 any failure, 2 warnings only. A config error is always 2."""
        if self.config_error:
            return 2
        if not check:
            return 0
        counts = self.counts()
        if counts["fail"]:
            return 1
        return 2 if counts["warn"] else 0

    def ordered(self) -> list[Check]:
        """Checks grouped (config, models, policy, environment, openclaw), order kept."""
        return sorted(self.checks, key=lambda c: GROUPS.index(c.group))

    def to_json(self, check: bool = False) -> dict[str, Any]:
        summary: dict[str, Any] = dict(self.counts())
        summary.update(
            total=len(self.checks),
            exit_code=self.exit_code(check),
            config=self.source or None,
            openclaw=self.openclaw,
            offline=self.offline,
        )
        doc: dict[str, Any] = {"checks": [c.to_json() for c in self.ordered()], "summary": summary}
        if self.agents:
            doc["openclaw_agents"] = self.agents
        return doc


# ---------------------------------------------------------------- helpers


def is_loopback_url(url: str) -> bool:
    """Whether a URL's host is loopback, decided from the URL alone (no DNS)."""
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ollama_providers(cfg: Config) -> dict[str, ProviderConfig | None]:
    """Providers whose models are served by Ollama (harness ollama, or named `ollama`)."""
    out: dict[str, ProviderConfig | None] = {
        normalize_provider(k): p for k, p in cfg.providers.items() if p.harness == "ollama"
    }
    if "ollama" not in {normalize_provider(k) for k in cfg.providers}:
        out.setdefault("ollama", None)
    return out


def provider_config(cfg: Config, provider: str) -> ProviderConfig | None:
    for name, p in cfg.providers.items():
        if normalize_provider(name) == provider:
            return p
    return None


def describe(res: Resolution) -> str:
    """`alias → provider/model (via, tier)`: what a ref became, in one line."""
    if not res.ok:
        return f"{res.input} ✗"
    tier = res.catalog_entry.entry.tier if res.catalog_entry and res.catalog_entry.entry else ""
    via = f"{res.via}" + (f", {tier}" if tier else "")
    return res.key if res.input == res.key else f"{res.input} → {res.key} ({via})"


@dataclass(frozen=True)
class LaneView:
    """A lane's chain as resolved for checking (unresolvable refs kept, marked not ok)."""

    lane_id: str
    primary: Resolution | None
    fallbacks: tuple[Resolution, ...]

    @property
    def chain(self) -> list[tuple[Resolution, bool]]:
        """(resolution, is_fallback) for every ref that resolved to an allowed model."""
        out = [(self.primary, False)] if self.primary and self.primary.ok else []
        return out + [(f, True) for f in self.fallbacks if f.ok]


def lane_views(cfg: Config) -> list[LaneView]:
    catalog = Catalog.from_config(cfg)
    views = []
    for lane_id in cfg.lanes:
        refs = lane_refs(cfg, lane_id)
        primary = resolve(catalog, refs.primary[0]) if refs.primary else None
        views.append(
            LaneView(lane_id, primary, tuple(resolve(catalog, r) for r, _ in refs.fallbacks))
        )
    return views


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
        if lane.harness != "command":
            continue
        subject = f"lane {lane_id}"
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


def static_checks(loaded: LoadedConfig) -> list[Check]:
    """Every check that needs only the config."""
    cfg = loaded.config
    return (
        check_models(loaded)
        + check_policy(cfg)
        + check_command_sandbox(cfg)
        + check_ollama_loopback(cfg)
    )


# ---------------------------------------------------------------- running


def _config_error_checks(e: ConfigError) -> list[Check]:
    return [
        Check(
            "config.load",
            "fail",
            str(p.location.file),
            p.render(),
            p.hint or "fix the file at the position shown",
        )
        for p in e.problems
    ]


async def run_preflight_async(
    config_path: str | None = None,
    openclaw_path: str | None = None,
    *,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Report:
    """Load, run every static check, then the live probes concurrently."""
    from laneboard.lanes import probes

    env = dict(os.environ if environ is None else environ)
    here = cwd or Path.cwd()
    report = Report(offline=offline, openclaw=openclaw_path)
    laneboard_config = config_path is not None or openclaw_path is None
    if laneboard_config:
        try:
            loaded = load_config(config_path) if config_path else load_effective(None)
        except ConfigError as e:
            report.config_error = True
            report.source = config_path or ""
            report.checks += _config_error_checks(e)
        else:
            report.source = loaded.path
            report.checks.append(Check("config.load", "ok", loaded.path, "loads and validates"))
            report.checks += static_checks(loaded)
            report.checks += await probes.live_checks(
                loaded, offline=offline, environ=env, cwd=here
            )
    if openclaw_path:
        from laneboard.lanes.openclaw import check_openclaw, load_openclaw

        try:
            oc = load_openclaw(openclaw_path)
        except ConfigError as e:
            report.config_error = True
            report.checks += _config_error_checks(e)
        else:
            report.checks.append(
                Check(
                    "config.load",
                    "ok",
                    oc.path,
                    f"openclaw.json loads; allowlist: {oc.policy_source}",
                )
            )
            report.checks += check_openclaw(oc)
            report.agents = [
                {
                    "id": a.id,
                    "primary": a.primary,
                    "fallbacks": list(a.fallbacks),
                    "primary_source": a.primary_source,
                    "fallbacks_source": a.fallbacks_source,
                }
                for a in oc.agents
            ]
    return report


def run_preflight(
    config_path: str | None = None,
    openclaw_path: str | None = None,
    *,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Report:
    """Synchronous entry point (the CLI's)."""
    import asyncio

    return asyncio.run(
        run_preflight_async(config_path, openclaw_path, offline=offline, environ=environ, cwd=cwd)
    )
