"""Model refs: parse, normalise, resolve against the allowlist, build fallback chains.

A ref is `provider/model`, split on the FIRST `/` so nested ids survive
(`openrouter/moonshotai/kimi-k2` is provider `openrouter`, model `moonshotai/kimi-k2`) and
colons stay in the model (`ollama/qwen3:7b`). Provider ids are lower-cased and folded
through the same legacy spellings OpenClaw folds (`z.ai` → `zai`, `bedrock` →
`amazon-bedrock`), so a config written for one reads the same in the other. Model ids keep
their case: `gpt-5.5` and `GPT-5.5` are different ids to a provider, and a case-insensitive
match is only trusted when it is unambiguous.

A bare id (no `/`) is tried as an alias (case-insensitive), then as the model part of
exactly one configured provider, then under the default provider — the order OpenClaw
uses, and the order a person reading the config expects. A trailing `@profile` names an
auth profile; it never becomes part of the model id.

The `models:` table is the allowlist. Resolution never guesses past it: a ref outside it
is refused with "Model is not allowed". Chains are ordered candidates: a lane's configured
primary and fallbacks, or — for a model someone picked explicitly — the primary alone, so
an explicit choice fails visibly instead of quietly answering from a fallback.
`Cooldowns` keeps a failing model out of rotation for 30 s, then 1 min, then 5 min.

Nothing here touches the network or the filesystem; the clock is injectable.

Why this is long: parsing, the catalogue, resolution, chains and the config check of refs
follow OpenClaw's resolution order step by step, and each step's error message names the
step before it ("not an alias, not unique under a provider, …"); kept in one module, that
order reads top to bottom. `Cooldowns` (~50 lines) is the only separable part.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from laneboard.core.harness_kinds import kind
from laneboard.core.vocabulary import TIERS
from laneboard.errors import ConfigProblem, ModelRefError
from laneboard.yamlsource import Path_, dotted

if TYPE_CHECKING:  # the config models only as types: importing refs must not cost pydantic
    from laneboard.config import Config, LoadedConfig, ModelEntry, ModelParams

_TIER_RANK: dict[str, int] = {t: i for i, t in enumerate(TIERS)}

Via = Literal["alias", "exact", "case-insensitive", "unique-provider", "default-provider"]
ErrorKind = Literal["invalid", "unresolved", "not-allowed"]

# Legacy and alternative spellings OpenClaw folds into one provider id.
PROVIDER_ALIASES: dict[str, str] = {
    "z.ai": "zai",
    "z-ai": "zai",
    "opencode-zen": "opencode",
    "opencode-go-auth": "opencode-go",
    "qwen": "qwen-portal",
    "kimi-code": "kimi-coding",
    "bedrock": "amazon-bedrock",
    "aws-bedrock": "amazon-bedrock",
    "bytedance": "volcengine",
    "doubao": "volcengine",
    "anthropic-cli": "claude-cli",
}

NOT_ALLOWED = "Model is not allowed"

# `@20251001` or `@v1.2` is a version, not an auth profile (OpenClaw's rule too).
_VERSION_SUFFIX = re.compile(r"^(\d+|v?\d+(\.\d+)*(-[\w.]+)?(\+[\w.]+)?)$")


def normalize_provider(provider: str) -> str:
    """Canonical provider id: trimmed, lower-cased, legacy spellings folded."""
    p = provider.strip().lower()
    return PROVIDER_ALIASES.get(p, p)


def split_profile(raw: str) -> tuple[str, str | None]:
    """Split a trailing `@profile` (after the last `/`) off a ref.

    A suffix that looks like a version (`@20251001`, `@v2`) stays in the model id, because
    some providers publish dated ids that way.
    """
    text = raw.strip()
    at = text.find("@", text.rfind("/") + 1)
    if at <= 0:
        return text, None
    model, profile = text[:at].strip(), text[at + 1 :].strip()
    if not model or not profile or _VERSION_SUFFIX.match(profile):
        return text, None
    return model, profile


@dataclass(frozen=True)
class ParsedRef:
    """A ref split into its parts; `provider` is None for a bare id."""

    raw: str
    provider: str | None
    model: str
    profile: str | None = None

    @property
    def key(self) -> str | None:
        return f"{self.provider}/{self.model}" if self.provider else None


def parse_ref(raw: str) -> ParsedRef:
    """Split a ref on its first `/`; raise ModelRefError when a half is empty."""
    if not isinstance(raw, str) or not raw.strip():
        raise ModelRefError("invalid model ref: empty")
    text, profile = split_profile(raw)
    if "/" not in text:
        return ParsedRef(raw, None, text, profile)
    provider_raw, model = (part.strip() for part in text.split("/", 1))
    if not provider_raw or not model:
        raise ModelRefError(
            f"invalid model ref {raw.strip()!r}: expected provider/model with both halves"
        )
    return ParsedRef(raw, normalize_provider(provider_raw), model, profile)


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class CatalogEntry:
    """One allowlisted model: its configured key, canonical parts and metadata."""

    key: str
    provider: str
    model: str
    alias: str | None = None
    entry: ModelEntry | None = None


@dataclass(frozen=True)
class Catalog:
    """What refs resolve against: known models, aliases, the default provider, the allowlist.

    `allow_any` is OpenClaw's "no allowlist configured" state; laneboard configs never set
    it, because there the `models:` table always is the allowlist.
    """

    entries: tuple[CatalogEntry, ...]
    default_provider: str | None = None
    allow_any: bool = False
    aliases: dict[str, CatalogEntry] = field(default_factory=dict)
    allowed_keys: frozenset[str] | None = None
    allowed_providers: frozenset[str] = frozenset()
    """Providers whose every model is allowed (OpenClaw's `provider/*` allowlist entries)."""

    @classmethod
    def build(
        cls,
        entries: Iterable[CatalogEntry],
        default_provider: str | None,
        *,
        allow_any: bool = False,
        allowed_keys: Iterable[str] | None = None,
        allowed_providers: Iterable[str] = (),
    ) -> Catalog:
        items = tuple(entries)
        aliases: dict[str, CatalogEntry] = {}
        for e in items:
            if e.alias and e.alias.strip().casefold() not in aliases:
                aliases[e.alias.strip().casefold()] = e
        allowed = frozenset(allowed_keys) if allowed_keys is not None else None
        return cls(
            items,
            normalize_provider(default_provider) if default_provider else None,
            allow_any,
            aliases,
            allowed,
            frozenset(normalize_provider(p) for p in allowed_providers),
        )

    @classmethod
    def from_config(cls, cfg: Config) -> Catalog:
        """The catalogue of a laneboard config: `models:` is the allowlist."""
        entries = []
        for key, entry in cfg.models.items():
            try:
                parsed = parse_ref(key)
            except ModelRefError:
                continue
            if parsed.provider is None:
                continue
            entries.append(CatalogEntry(key, parsed.provider, parsed.model, entry.alias, entry))
        return cls.build(entries, cfg.defaults.provider)

    def find(self, provider: str, model: str) -> tuple[CatalogEntry | None, bool]:
        """The entry for provider/model: exact, else the one case-insensitive match.

        Returns (entry, exact). Several case-insensitive matches count as none, because
        picking one would be a guess.
        """
        same_provider = [e for e in self.entries if e.provider == provider]
        for e in same_provider:
            if e.model == model:
                return e, True
        folded = [e for e in same_provider if e.model.casefold() == model.casefold()]
        if len(folded) == 1:
            return folded[0], False
        return None, False

    def is_allowed(self, entry: CatalogEntry | None, key: str) -> bool:
        """Whether provider/model `key` (canonical) may run under this catalogue."""
        if self.allow_any:
            return True
        provider = entry.provider if entry is not None else key.split("/", 1)[0]
        if provider in self.allowed_providers:
            return True
        if self.allowed_keys is not None:
            canonical = f"{entry.provider}/{entry.model}" if entry is not None else key
            return key in self.allowed_keys or canonical in self.allowed_keys
        return entry is not None

    def unique_provider(self, model: str) -> str | None:
        """The one provider whose configured models include this bare id (exact, then folded)."""
        exact = {e.provider for e in self.entries if e.model == model}
        if len(exact) == 1:
            return next(iter(exact))
        if exact:
            return None
        folded = {e.provider for e in self.entries if e.model.casefold() == model.casefold()}
        return next(iter(folded)) if len(folded) == 1 else None

    def suggestions(self, text: str) -> list[str]:
        """Close keys or aliases, for a did-you-mean."""
        names = [e.key for e in self.entries] + [e.alias for e in self.entries if e.alias]
        return difflib.get_close_matches(text, names, n=2, cutoff=0.6)


# ---------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Resolution:
    """What a ref became, how, and whether it may run. Never raises: errors are data."""

    input: str
    provider: str | None = None
    model: str | None = None
    key: str | None = None
    via: Via | None = None
    alias: str | None = None
    profile: str | None = None
    allowed: bool = False
    error: str | None = None
    error_kind: ErrorKind | None = None
    hint: str = ""
    catalog_entry: CatalogEntry | None = None

    @property
    def ok(self) -> bool:
        return self.allowed and self.error is None

    def to_json(self) -> dict[str, Any]:
        """The `models resolve --json` shape."""
        return {
            "input": self.input,
            "provider": self.provider,
            "model": self.model,
            "key": self.key,
            "via": self.via,
            "alias": self.alias,
            "allowed": self.allowed,
            "error": self.error,
        }


def resolve(catalog: Catalog, raw: str) -> Resolution:
    """Resolve one ref against a catalogue (alias → exact → unique provider → default)."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        parsed = parse_ref(text)
    except ModelRefError as e:
        return Resolution(
            text,
            error=str(e),
            error_kind="invalid",
            hint="write provider/model, e.g. ollama/qwen3:7b, or an alias",
        )
    alias_name: str | None = None
    via: Via
    entry: CatalogEntry | None = None
    exact = True
    if parsed.provider is None:
        hit = catalog.aliases.get(parsed.model.casefold())
        if hit is not None:
            entry, alias_name, via = hit, hit.alias, "alias"
            provider, model = hit.provider, hit.model
        else:
            unique = catalog.unique_provider(parsed.model)
            if unique is not None:
                provider, via = unique, "unique-provider"
            elif catalog.default_provider:
                provider, via = catalog.default_provider, "default-provider"
            else:
                close = catalog.suggestions(parsed.model)
                return Resolution(
                    text,
                    model=parsed.model,
                    profile=parsed.profile,
                    error=(
                        f"model {parsed.model!r} has no provider: it is not an alias, "
                        "no single configured provider has it, and there is no default provider"
                    ),
                    error_kind="unresolved",
                    hint=(
                        f"did you mean {close[0]!r}?"
                        if close
                        else "write it as provider/model or set defaults.provider"
                    ),
                )
            model = parsed.model
    else:
        provider, model, via = parsed.provider, parsed.model, "exact"
    if entry is None:
        entry, exact = catalog.find(provider, model)
        if entry is not None:
            model = entry.model
            if not exact and via == "exact":
                via = "case-insensitive"
    key = entry.key if entry is not None else f"{provider}/{model}"
    if not catalog.is_allowed(entry, f"{provider}/{model}"):
        close = catalog.suggestions(
            parsed.model if parsed.provider is None else f"{provider}/{model}"
        )
        return Resolution(
            text,
            provider,
            model,
            key,
            via,
            alias_name,
            parsed.profile,
            False,
            error=f"{NOT_ALLOWED}: {key}",
            error_kind="not-allowed",
            hint=(
                f"did you mean {close[0]!r}?"
                if close
                else "add it to the models: table (the allowlist) or pick a listed model"
            ),
            catalog_entry=entry,
        )
    return Resolution(
        text, provider, model, key, via, alias_name, parsed.profile, True, catalog_entry=entry
    )


@dataclass(frozen=True)
class ResolvedModel:
    """An allowlisted model ready to run: everything a harness or the router needs.

    `model` is the model part of the key (`gpt-5.5:cron`); `provider_id` is what the
    provider is sent (`ModelEntry.id`, else `model`: `gpt-5.5`).
    """

    provider: str
    model: str
    provider_id: str
    key: str
    tier: str
    kind: str
    params: ModelParams
    context_window: int | None
    alias: str | None
    via: Via
    profile: str | None = None

    @property
    def tier_rank(self) -> int:
        """0 local, 1 cheap, 2 orchestrator, 3 escalation: compare tiers with `<`."""
        return _TIER_RANK[self.tier]


def to_resolved(res: Resolution) -> ResolvedModel:
    """A successful Resolution with a config entry as a ResolvedModel; raise otherwise."""
    if not res.ok or res.catalog_entry is None or res.catalog_entry.entry is None:
        raise ModelRefError(res.error or f"{NOT_ALLOWED}: {res.key or res.input}")
    ce = res.catalog_entry
    me = ce.entry
    assert me is not None and res.via is not None
    return ResolvedModel(
        provider=ce.provider,
        model=ce.model,
        provider_id=me.id or ce.model,
        key=ce.key,
        tier=me.tier,
        kind=me.kind,
        params=me.params,
        context_window=me.context_window,
        alias=me.alias,
        via=res.via,
        profile=res.profile,
    )


def resolve_ref(cfg: Config, raw: str) -> Resolution:
    """Resolve a ref against a laneboard config (see `resolve`)."""
    return resolve(Catalog.from_config(cfg), raw)


def require_model(cfg: Config, raw: str) -> ResolvedModel:
    """Resolve a ref that must run; raise ModelRefError ("Model is not allowed: …")."""
    return to_resolved(resolve_ref(cfg, raw))


# ---------------------------------------------------------------- chains


@dataclass(frozen=True)
class LaneRefs:
    """The refs a lane names, with the config paths they came from (for locations)."""

    primary: tuple[str, Path_] | None
    fallbacks: tuple[tuple[str, Path_], ...]


def lane_refs(cfg: Config, lane_id: str) -> LaneRefs:
    """A lane's primary and fallback refs as written, defaults applied.

    A lane that names no model takes `defaults.model` with its fallbacks. A lane that names
    its own model gets only the fallbacks it lists: a fallback chain written for another
    model is not silently inherited (OpenClaw treats an agent's own primary the same way).
    Command lanes run no model.
    """
    lane = cfg.lanes[lane_id]
    if not kind(lane.harness).takes_model:
        return LaneRefs(None, ())
    d = cfg.defaults.model
    primary: tuple[str, Path_] | None
    if lane.model is not None:
        primary = (lane.model, ("lanes", lane_id, "model"))
    elif d is not None:
        primary = (d.primary, ("defaults", "model", "primary"))
    else:
        primary = None
    if lane.fallbacks is not None:
        fbs = tuple((r, ("lanes", lane_id, "fallbacks", i)) for i, r in enumerate(lane.fallbacks))
    elif lane.model is None and d is not None:
        fbs = tuple((r, ("defaults", "model", "fallbacks", i)) for i, r in enumerate(d.fallbacks))
    else:
        fbs = ()
    return LaneRefs(primary, fbs)


def lane_chain(
    cfg: Config, lane_id: str, *, explicit: str | None = None, strict: bool = False
) -> list[ResolvedModel]:
    """The ordered candidates a lane would try.

    `explicit` is a model the user picked for this run: it alone is returned (strict), so
    its failure is visible. `strict=True` keeps only the lane's primary. Duplicates (a
    fallback equal to an earlier candidate) are dropped. Raises ModelRefError for an
    unknown lane or a ref that does not resolve to an allowed model.
    """
    if lane_id not in cfg.lanes:
        raise ModelRefError(f"no lane named {lane_id!r}")
    catalog = Catalog.from_config(cfg)
    if explicit is not None:
        return [to_resolved(resolve(catalog, explicit))]
    refs = lane_refs(cfg, lane_id)
    if refs.primary is None:
        return []
    raws = [refs.primary[0]] + ([] if strict else [r for r, _ in refs.fallbacks])
    chain: list[ResolvedModel] = []
    for raw in raws:
        rm = to_resolved(resolve(catalog, raw))
        if all(c.key != rm.key for c in chain):
            chain.append(rm)
    return chain


def ref_chain(cfg: Config, raw: str) -> list[ResolvedModel]:
    """The chain of a ref named directly: an explicit selection, so the primary alone."""
    return [require_model(cfg, raw)]


# ---------------------------------------------------------------- cooldowns


COOLDOWN_STEPS: tuple[float, ...] = (30.0, 60.0, 300.0)


class Cooldowns:
    """Keeps a failing model out of rotation: 30 s, then 1 min, then 5 min (the cap).

    A success clears the model's record. `clock` returns seconds (monotonic by default);
    tests pass a fake one instead of sleeping.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        steps: Sequence[float] = COOLDOWN_STEPS,
    ) -> None:
        self._clock = clock
        self._steps = tuple(steps)
        self._strikes: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def fail(self, key: str) -> float:
        """Record a failure; return how long the model now cools down (seconds)."""
        strikes = self._strikes.get(key, 0) + 1
        self._strikes[key] = strikes
        delay = self._steps[min(strikes, len(self._steps)) - 1]
        self._until[key] = self._clock() + delay
        return delay

    def succeed(self, key: str) -> None:
        """Record a success: the model's next failure starts over at the first step."""
        self._strikes.pop(key, None)
        self._until.pop(key, None)

    def remaining(self, key: str) -> float:
        """Seconds until the model may be tried again (0 when it may be tried now)."""
        return max(0.0, self._until.get(key, 0.0) - self._clock())

    def cooling(self, key: str) -> bool:
        return self.remaining(key) > 0

    def available(self, chain: Sequence[ResolvedModel]) -> list[ResolvedModel]:
        """The chain without models that are cooling down, order kept."""
        return [m for m in chain if not self.cooling(m.key)]

    def pick(self, chain: Sequence[ResolvedModel]) -> ResolvedModel | None:
        """The first candidate not cooling down, or None (every model is cooling)."""
        avail = self.available(chain)
        return avail[0] if avail else None


# ---------------------------------------------------------------- config validation


@dataclass
class RefProblem(ConfigProblem):
    """A ConfigProblem raised by model-ref validation; `check` is the preflight check id.

    The subclass lets callers (preflight) tell a config that is only wrong about its model
    refs from one that is malformed, and report each under its own check.
    """

    check: str = "models.resolve"


def ref_sites(cfg: Config) -> list[tuple[str, Path_, str, bool]]:
    """Every place the config names a model: (ref, path, subject, is_fallback)."""
    sites: list[tuple[str, Path_, str, bool]] = []
    d = cfg.defaults.model
    if d is not None:
        sites.append((d.primary, ("defaults", "model", "primary"), "defaults.model", False))
        for i, r in enumerate(d.fallbacks):
            sites.append((r, ("defaults", "model", "fallbacks", i), "defaults.model", True))
    for lane_id, lane in cfg.lanes.items():
        if lane.model is not None:
            sites.append((lane.model, ("lanes", lane_id, "model"), f"lane {lane_id}", False))
        for i, r in enumerate(lane.fallbacks or []):
            sites.append((r, ("lanes", lane_id, "fallbacks", i), f"lane {lane_id}", True))
    if cfg.artifacts.embed_model is not None:
        sites.append(
            (
                cfg.artifacts.embed_model,
                ("artifacts", "embed_model"),
                "artifacts.embed_model",
                False,
            )
        )
    return sites


def check_model_refs(loaded: LoadedConfig) -> list[ConfigProblem]:
    """Every lane model and fallback, defaults.model and artifacts.embed_model must resolve
    to an allowlisted model of the right kind; each problem carries its file:line."""
    cfg = loaded.config
    catalog = Catalog.from_config(cfg)
    problems: list[ConfigProblem] = []
    for raw, path, _subject, _fb in ref_sites(cfg):
        res = resolve(catalog, raw)
        where = loaded.locate(path)
        if not res.ok:
            check = "models.allowed" if res.error_kind == "not-allowed" else "models.resolve"
            message = res.error or f"{NOT_ALLOWED}: {raw}"
            if res.error_kind != "not-allowed":
                message = f"model ref {raw!r} does not resolve: {message}"
            problems.append(
                RefProblem(
                    message,
                    where,
                    dotted(path),
                    expected="an alias or provider/model from `models:`",
                    hint=res.hint,
                    check=check,
                )
            )
            continue
        entry = res.catalog_entry.entry if res.catalog_entry else None
        if entry is None:
            continue
        wants_embedding = path == ("artifacts", "embed_model")
        if wants_embedding and entry.kind != "embedding":
            problems.append(
                RefProblem(
                    f"{res.key} is a chat model; embed_model needs an embedding model",
                    where,
                    dotted(path),
                    expected="a model with kind: embedding",
                    hint="point it at an embedding model (e.g. ollama/qwen3-embedding:8b)",
                    check="models.resolve",
                )
            )
        elif not wants_embedding and entry.kind == "embedding":
            problems.append(
                RefProblem(
                    f"{res.key} is an embedding model; it answers no prompts",
                    where,
                    dotted(path),
                    expected="a chat model",
                    hint="use a chat model here; embedding models belong in artifacts.embed_model",
                    check="models.resolve",
                )
            )
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    return problems
