"""The `openclaw.*` pre-flight checks: agents, fallbacks, memory search and ACP (acpx).

Why apart from the reader (`openclaw`): `laneboard models --openclaw` reads the file
without checking it, and the reader stays the one place that knows OpenClaw's rules.
Pure: no network, no process.
"""

from __future__ import annotations

from typing import Any

from laneboard.lanes.preflight.openclaw import OpenClawFile
from laneboard.lanes.preflight.report import (
    DEFAULT_OLLAMA_URL,
    Check,
    describe,
    is_loopback_url,
)


def check_openclaw(oc: OpenClawFile) -> list[Check]:
    """openclaw.agents, openclaw.fallbacks, openclaw.memory, openclaw.acpx."""
    agents: list[Check] = []
    fallbacks: list[Check] = []
    for a in oc.agents:
        subject = f"agent {a.id}"
        if a.primary is None:
            agents.append(
                Check(
                    "openclaw.agents",
                    "fail",
                    subject,
                    "no model: neither the agent nor agents.defaults.model names one",
                    f"set {a.where}.model or agents.defaults.model.primary",
                )
            )
            continue
        res = oc.resolve(a.primary)
        chain = [describe(res)] + [describe(oc.resolve(f)) for f in a.fallbacks]
        if not res.ok:
            agents.append(
                Check(
                    "openclaw.agents",
                    "fail",
                    subject,
                    f"primary {a.primary!r} ({a.primary_source}): {res.error}",
                    res.hint or f"fix {a.where}.model",
                )
            )
        else:
            agents.append(
                Check(
                    "openclaw.agents",
                    "ok",
                    subject,
                    f"{' → '.join(chain)} [primary from {a.primary_source}, "
                    f"fallbacks from {a.fallbacks_source}]",
                )
            )
        for raw in a.fallbacks:
            fres = oc.resolve(raw)
            if not fres.ok:
                fallbacks.append(
                    Check(
                        "openclaw.fallbacks",
                        "fail",
                        subject,
                        f"fallback {raw!r}: {fres.error}",
                        fres.hint or "fix or remove the fallback",
                    )
                )
            elif oc.providers and fres.provider not in oc.providers:
                fallbacks.append(
                    Check(
                        "openclaw.fallbacks",
                        "fail",
                        subject,
                        f"fallback {fres.key} runs on provider {fres.provider!r}, which this file "
                        "does not configure",
                        f"configure models.providers.{fres.provider} or an auth profile for it, "
                        "or drop the fallback",
                    )
                )
    if not fallbacks:
        fallbacks.append(
            Check(
                "openclaw.fallbacks",
                "ok",
                "all agents",
                "every fallback resolves on a configured provider",
            )
        )
    return agents + fallbacks + memory_checks(oc) + acpx_checks(oc)


def _memory_search_configs(oc: OpenClawFile) -> list[tuple[str, dict[str, Any]]]:
    agents = oc.data.get("agents") if isinstance(oc.data.get("agents"), dict) else {}
    assert isinstance(agents, dict)
    out: list[tuple[str, dict[str, Any]]] = []
    defaults = agents.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("memorySearch"), dict):
        out.append(("agents.defaults", defaults["memorySearch"]))
    entries = agents.get("entries")
    listed = (
        list(entries.items())
        if isinstance(entries, dict)
        else [
            (e.get("id", i), e)
            for i, e in enumerate(agents.get("list") or [])
            if isinstance(e, dict)
        ]
    )
    for agent_id, entry in listed:
        if isinstance(entry, dict) and isinstance(entry.get("memorySearch"), dict):
            out.append((f"agent {agent_id}", entry["memorySearch"]))
    return out


def memory_checks(oc: OpenClawFile) -> list[Check]:
    """openclaw.memory: embeddings of your memory should be made on this machine."""
    configs = _memory_search_configs(oc)
    if not configs:
        return [Check("openclaw.memory", "skip", "memorySearch", "memorySearch is not configured")]
    out: list[Check] = []
    providers = (
        oc.data.get("models", {}).get("providers", {})
        if isinstance(oc.data.get("models"), dict)
        else {}
    )
    for subject, ms in configs:
        if ms.get("enabled") is False:
            out.append(Check("openclaw.memory", "skip", subject, "memorySearch is disabled"))
            continue
        provider = str(ms.get("provider") or "auto").strip().lower()
        model = ms.get("model") or "(provider default)"
        remote = ms.get("remote") if isinstance(ms.get("remote"), dict) else {}
        assert isinstance(remote, dict)
        url = remote.get("baseUrl")
        if provider == "ollama" and not url:
            ollama = providers.get("ollama") if isinstance(providers, dict) else None
            url = (ollama or {}).get("baseUrl") if isinstance(ollama, dict) else None
            url = url or DEFAULT_OLLAMA_URL
        if provider == "local":
            out.append(
                Check(
                    "openclaw.memory",
                    "ok",
                    subject,
                    f"local embeddings on this machine (model {model})",
                )
            )
        elif isinstance(url, str) and is_loopback_url(url):
            out.append(
                Check(
                    "openclaw.memory",
                    "ok",
                    subject,
                    f"{provider} embeddings at {url} (loopback), model {model}",
                )
            )
        elif provider == "auto":
            out.append(
                Check(
                    "openclaw.memory",
                    "warn",
                    subject,
                    "provider auto may send your memory to a remote embedding API",
                    "pin memorySearch.provider to local, or to ollama on 127.0.0.1",
                )
            )
        else:
            where = url or f"{provider}'s hosted API"
            out.append(
                Check(
                    "openclaw.memory",
                    "warn",
                    subject,
                    f"embeddings of your memory go to {where} (model {model}), "
                    "not a local endpoint",
                    "use provider local, or an Ollama embedding model on 127.0.0.1",
                )
            )
    return out


def _acp_used(oc: OpenClawFile) -> bool:
    acp = oc.data.get("acp")
    if isinstance(acp, dict) and (acp.get("enabled") is True or acp.get("backend")):
        return True
    return any(a.runtime == "acp" for a in oc.agents)


def acpx_checks(oc: OpenClawFile) -> list[Check]:
    """openclaw.acpx: ACP agents need the acpx backend plugin allowed and enabled."""
    if not _acp_used(oc):
        return [Check("openclaw.acpx", "skip", "acp", "ACP is not used")]
    plugins = oc.data.get("plugins") if isinstance(oc.data.get("plugins"), dict) else {}
    assert isinstance(plugins, dict)
    allow, deny = plugins.get("allow"), plugins.get("deny")
    entry = (
        (plugins.get("entries") or {}).get("acpx")
        if isinstance(plugins.get("entries"), dict)
        else None
    )
    fix = 'add "acpx" to plugins.allow (and keep plugins.entries.acpx.enabled true)'
    if plugins.get("enabled") is False:
        return [
            Check(
                "openclaw.acpx",
                "fail",
                "plugins",
                "ACP is used but plugins are disabled",
                "set plugins.enabled true and " + fix,
            )
        ]
    if isinstance(deny, list) and "acpx" in deny:
        return [
            Check(
                "openclaw.acpx",
                "fail",
                "plugins.deny",
                "ACP is used but acpx is denied",
                "remove acpx from plugins.deny",
            )
        ]
    if isinstance(entry, dict) and entry.get("enabled") is False:
        return [
            Check(
                "openclaw.acpx",
                "fail",
                "plugins.entries.acpx",
                "ACP is used but the acpx plugin is disabled",
                "set plugins.entries.acpx.enabled true",
            )
        ]
    if isinstance(allow, list):
        if "acpx" in allow:
            return [Check("openclaw.acpx", "ok", "plugins.allow", "acpx is allowed")]
        return [
            Check(
                "openclaw.acpx",
                "fail",
                "plugins.allow",
                "ACP is used but plugins.allow does not contain acpx",
                fix,
            )
        ]
    return [
        Check(
            "openclaw.acpx",
            "warn",
            "plugins.allow",
            "ACP is used and there is no plugins.allow pinning acpx",
            fix,
        )
    ]
