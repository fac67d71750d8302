"""OpenClaw's openclaw.json, read the way OpenClaw reads it, for `preflight --openclaw`.

The file is JSON5 (comments, trailing commas, unquoted keys). What matters to a pre-flight
check is each agent's effective model chain, computed with OpenClaw's rules:

- the roster is `agents.entries` (newer, keyed by id) or `agents.list` (older, with `id`);
  with neither, OpenClaw runs one implicit agent, `main`, on the defaults;
- an agent's primary is its own `model` (a string or `{primary}`), else
  `agents.defaults.model`;
- an agent that names its own primary gets only the fallbacks it lists — an explicit
  choice does not inherit the default ladder; an agent that names no model inherits
  `agents.defaults.model.fallbacks`;
- refs resolve alias first, then a unique configured provider, then the default provider —
  the provider of the configured primary (`anthropic` when none is configured); provider
  spellings fold as in `laneboard.lanes.refs`;
- the allowlist is `agents.defaults.modelPolicy.allow` (newer; an empty list means
  unrestricted) or the keys of `agents.defaults.models` (none means unrestricted); a
  `provider/*` entry admits every model of that provider, and the configured default
  model and its fallbacks are allowed whether or not the allowlist lists them.

The `openclaw.*` pre-flight checks of what is read here are in `openclaw_checks`.
Reading and checking are pure: no network, no process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from laneboard.configfile import (
    join_surrogates,
    json5_depth_problem,
    lone_surrogate_problem,
    position_of,
    read_config_bytes,
)
from laneboard.errors import ConfigError, ConfigProblem, Location, ModelRefError
from laneboard.lanes.refs import Catalog, CatalogEntry, Resolution, parse_ref, resolve

OPENCLAW_DEFAULT_PROVIDER = "anthropic"
DEFAULT_AGENT_ID = "main"

Source = Literal["agent", "defaults", "none"]


@dataclass(frozen=True)
class AgentModels:
    """One agent's effective primary and fallbacks, and where each came from."""

    id: str
    primary: str | None
    fallbacks: tuple[str, ...]
    primary_source: Source
    fallbacks_source: Source
    runtime: str | None = None
    where: str = ""
    """Where in the file the agent is defined (`agents.entries.coder`, `agents.list[1]`)."""


@dataclass(frozen=True)
class OpenClawFile:
    """A parsed openclaw.json with the pieces preflight needs."""

    path: str
    data: dict[str, Any]
    catalog: Catalog
    agents: tuple[AgentModels, ...]
    providers: frozenset[str] = field(default_factory=frozenset)
    """Providers this file runs: `models.providers`, auth profiles, and agents' primaries."""
    policy_source: str = ""
    """Which key is the allowlist (`agents.defaults.modelPolicy.allow`, …, or unrestricted)."""

    def resolve(self, raw: str) -> Resolution:
        return resolve(self.catalog, raw)

    def chain(self, agent: AgentModels) -> list[Resolution]:
        """The agent's candidates in the order OpenClaw tries them."""
        refs = ([agent.primary] if agent.primary else []) + list(agent.fallbacks)
        return [self.resolve(r) for r in refs]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _primary_of(model: Any) -> str | None:
    if isinstance(model, str):
        return model.strip() or None
    primary = _obj(model).get("primary")
    return primary.strip() or None if isinstance(primary, str) else None


def _fallbacks_override(model: Any) -> list[str] | None:
    """OpenClaw's per-agent fallback override: None means "inherit the defaults"."""
    if isinstance(model, str):
        return [] if model.strip() else None
    m = _obj(model)
    if "fallbacks" not in m:
        return [] if _primary_of(m) else None
    fbs = m["fallbacks"]
    return [str(f) for f in fbs if isinstance(f, str)] if isinstance(fbs, list) else None


def _roster(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(id, entry, where) for each configured agent, entries taking precedence over list."""
    agents = _obj(data.get("agents"))
    entries = agents.get("entries")
    if isinstance(entries, dict):
        return [(str(k), _obj(v), f"agents.entries.{k}") for k, v in entries.items()]
    out: list[tuple[str, dict[str, Any], str]] = []
    lst = agents.get("list")
    if isinstance(lst, list):
        seen: set[str] = set()
        for i, entry in enumerate(lst):
            e = _obj(entry)
            agent_id = str(e.get("id") or DEFAULT_AGENT_ID).strip().lower()
            if e and agent_id not in seen:
                seen.add(agent_id)
                out.append((agent_id, e, f"agents.list[{i}]"))
    return out


def _runtime(entry: dict[str, Any]) -> str | None:
    rt = entry.get("runtime")
    if isinstance(rt, str):
        return rt
    kind = _obj(rt).get("type")
    return kind if isinstance(kind, str) else None


def agent_models(data: dict[str, Any]) -> list[AgentModels]:
    """Every agent's effective model chain (see the module docstring for the rules)."""
    defaults = _obj(_obj(data.get("agents")).get("defaults"))
    d_model = defaults.get("model")
    d_primary = _primary_of(d_model)
    d_fallbacks = _fallbacks_override(d_model) if isinstance(d_model, dict) else []
    d_fallbacks = d_fallbacks or []
    roster = _roster(data) or [(DEFAULT_AGENT_ID, {}, "agents.defaults")]
    out = []
    for agent_id, entry, where in roster:
        own = _primary_of(entry.get("model"))
        override = _fallbacks_override(entry.get("model"))
        primary = own or d_primary
        p_src: Source = "agent" if own else ("defaults" if d_primary else "none")
        f_src: Source
        if override is not None:
            fbs, f_src = override, "agent"
        else:
            fbs, f_src = d_fallbacks, ("defaults" if d_fallbacks else "none")
        out.append(AgentModels(agent_id, primary, tuple(fbs), p_src, f_src, _runtime(entry), where))
    return out


def _catalog(data: dict[str, Any]) -> tuple[Catalog, str]:
    """The allowlist catalogue, with OpenClaw's semantics (each rule is OpenClaw's own):

    - `provider/*` admits every model of that provider; it names no model, so it is no
      catalogue entry (it neither resolves a bare id nor offers a did-you-mean);
    - the configured default model and its fallbacks (`agents.defaults.model.primary` and
      `.fallbacks`) are allowed even when the allowlist does not list them: OpenClaw never
      refuses the models it was configured to start on;
    - a bare id resolves under the default provider, which is the provider of the
      configured primary (OpenClaw's built-in default, `anthropic`, only when there is none).
    """
    defaults = _obj(_obj(data.get("agents")).get("defaults"))
    models = _obj(defaults.get("models"))
    wildcards: list[str] = []
    entries: list[CatalogEntry] = []
    for key, value in models.items():
        if _wildcard(str(key), wildcards):
            continue
        ce = _entry(str(key), _obj(value).get("alias"))
        if ce is not None:
            entries.append(ce)
    default_provider = _default_provider(defaults, entries)
    entries = [_rebase(e, default_provider) for e in entries]
    configured = _configured_keys(defaults, entries, default_provider)
    policy = _obj(defaults.get("modelPolicy")).get("allow")
    if isinstance(policy, list):
        allowed: list[str] = []
        policy_wildcards: list[str] = []
        for raw in policy:
            if _wildcard(str(raw), policy_wildcards):
                continue
            ce = _entry(str(raw), None)
            if ce is not None:
                ce = _rebase(ce, default_provider)
                allowed.append(f"{ce.provider}/{ce.model}")
                if all(e.key != ce.key for e in entries):
                    entries.append(ce)
        if not allowed and not policy_wildcards:
            return Catalog.build(entries, default_provider, allow_any=True), (
                "unrestricted (agents.defaults.modelPolicy.allow is empty)"
            )
        return Catalog.build(
            entries,
            default_provider,
            allowed_keys=[*allowed, *configured],
            allowed_providers=policy_wildcards,
        ), "agents.defaults.modelPolicy.allow"
    if not entries and not wildcards:
        return Catalog.build([], default_provider, allow_any=True), (
            "unrestricted (no agents.defaults.models)"
        )
    keys = [f"{e.provider}/{e.model}" for e in entries]
    return Catalog.build(
        entries, default_provider, allowed_keys=[*keys, *configured], allowed_providers=wildcards
    ), "agents.defaults.models"


def _entry(key: str, alias: Any) -> CatalogEntry | None:
    """A catalogue entry for an allowlist key; bare keys take OpenClaw's default provider
    (rebased onto the configured one by `_rebase` once the primary is known)."""
    try:
        parsed = parse_ref(key)
    except ModelRefError:
        return None
    provider = parsed.provider or OPENCLAW_DEFAULT_PROVIDER
    name = alias.strip() if isinstance(alias, str) and alias.strip() else None
    return CatalogEntry(key, provider, parsed.model, name)


def _wildcard(key: str, into: list[str]) -> bool:
    """Record `provider/*` (OpenClaw: every model of that provider) and say it was one."""
    provider, slash, model = key.strip().partition("/")
    if slash and model.strip() == "*" and provider.strip():
        from laneboard.lanes.refs import normalize_provider

        into.append(normalize_provider(provider))
        return True
    return False


def _default_provider(defaults: dict[str, Any], entries: list[CatalogEntry]) -> str:
    """The provider of the configured primary (through an alias if it names one)."""
    primary = _primary_of(defaults.get("model"))
    if primary:
        try:
            parsed = parse_ref(primary)
        except ModelRefError:
            parsed = None
        if parsed is not None and parsed.provider:
            return parsed.provider
        if parsed is not None:
            for e in entries:
                if e.alias and e.alias.casefold() == parsed.model.casefold():
                    return _explicit_provider(e.key) or OPENCLAW_DEFAULT_PROVIDER
    return OPENCLAW_DEFAULT_PROVIDER


def _explicit_provider(key: str) -> str | None:
    try:
        return parse_ref(key).provider
    except ModelRefError:
        return None


def _rebase(entry: CatalogEntry, default_provider: str) -> CatalogEntry:
    """A bare allowlist key belongs to the default provider (known only once it is read)."""
    if _explicit_provider(entry.key) is None and entry.provider != default_provider:
        return CatalogEntry(entry.key, default_provider, entry.model, entry.alias, entry.entry)
    return entry


def _configured_keys(
    defaults: dict[str, Any], entries: list[CatalogEntry], default_provider: str
) -> list[str]:
    """Canonical keys of `agents.defaults.model.primary` and its fallbacks."""
    model = defaults.get("model")
    refs = [r for r in [_primary_of(model), *(_fallbacks_override(model) or [])] if r]
    if not isinstance(model, dict):
        refs = refs[:1]
    unrestricted = Catalog.build(entries, default_provider, allow_any=True)
    out: list[str] = []
    for raw in refs:
        res = resolve(unrestricted, raw)
        if res.ok and res.provider and res.model:
            out.append(f"{res.provider}/{res.model}")
    return out


def _providers(data: dict[str, Any], agents: list[AgentModels]) -> frozenset[str]:
    from laneboard.lanes.refs import normalize_provider

    names = {normalize_provider(k) for k in _obj(_obj(data.get("models")).get("providers"))}
    for profile in _obj(_obj(data.get("auth")).get("profiles")).values():
        provider = _obj(profile).get("provider")
        if isinstance(provider, str):
            names.add(normalize_provider(provider))
    for a in agents:
        if a.primary:
            try:
                p = parse_ref(a.primary).provider
            except ModelRefError:
                continue
            if p:
                names.add(p)
    return frozenset(names)


def parse_openclaw(text: str, path: str = "openclaw.json") -> OpenClawFile:
    """Parse openclaw.json text (JSON5); raise ConfigError with file:line on bad syntax."""
    import json5

    deep = json5_depth_problem(text, path)
    if deep is not None:
        raise ConfigError([deep])
    try:
        data = json5.loads(text, allow_duplicate_keys=False)
    except RecursionError:  # the depth scan should have caught it; never a traceback
        raise ConfigError([ConfigProblem("nested too deeply", Location(path))]) from None
    except ValueError as e:
        message = str(e)
        m = re.match(r"<string>:(\d+) (.*?)(?: at column (\d+))?$", message)
        if m:
            loc = Location(path, int(m.group(1)), int(m.group(3)) if m.group(3) else None)
            message = m.group(2)
        else:
            loc = Location(path)
        raise ConfigError(
            [ConfigProblem(f"not valid JSON5: {message}", loc, hint="openclaw.json is JSON5")]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem("the top level must be an object", Location(path, 1))])
    data = _join_surrogates(data, text, path)
    agents = agent_models(data)
    catalog, policy = _catalog(data)
    return OpenClawFile(path, data, catalog, tuple(agents), _providers(data, agents), policy)


#: An escaped UTF-16 surrogate that is not half of a pair (`\\ud800` alone).
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _join_surrogates(value: Any, text: str, path: str, where: str = "") -> Any:
    """`value` with escaped surrogate pairs joined (json5 leaves them as two halves);
    ConfigError at the escape when a lone surrogate remains (it cannot be encoded)."""
    if isinstance(value, str):
        joined = join_surrogates(value)
        if joined is None:
            m = _LONE_SURROGATE.search(text)
            loc = position_of(text, m.start(), path) if m else Location(path)
            raise ConfigError([lone_surrogate_problem(path, loc, where)])
        return joined
    if isinstance(value, dict):
        return {
            _join_surrogates(k, text, path, where): _join_surrogates(
                v, text, path, f"{where}.{k}" if where else str(k)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_join_surrogates(v, text, path, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def load_openclaw(path: str | Path) -> OpenClawFile:
    """Read and parse an openclaw.json file (a regular file of bounded size, see configfile)."""
    p = Path(path)
    raw = read_config_bytes(p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode("utf-8", "replace")
        raise ConfigError(
            [
                ConfigProblem(
                    f"the file is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                    position_of(before, len(before), str(p)),
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    return parse_openclaw(text, str(p))
