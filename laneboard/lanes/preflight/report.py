"""Preflight's report vocabulary: a `Check`, a `Report`, and the small readings of a
config that the static checks, the live probes and the OpenClaw checks all share.

Why at the bottom of the package: every other preflight module produces `Check`s and
reads the same lane chains and Ollama endpoints; keeping those here (and importing none
of the checks) is what keeps the package free of import cycles.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from laneboard.config import Config, ProviderConfig
from laneboard.core.harness_kinds import kind
from laneboard.lanes.refs import Catalog, Resolution, lane_refs, normalize_provider, resolve

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
        normalize_provider(k): p for k, p in cfg.providers.items()
        if kind(p.harness).local_models
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

