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
    tmux.review-session, artifacts.writable        live checks (preflight.probes)
    openclaw.agents, openclaw.fallbacks, openclaw.memory, openclaw.acpx
                               with --openclaw (preflight.openclaw_checks)

The static checks are pure functions of a loaded config, so every one is unit-testable on
a small config. Live probes run concurrently with short per-probe timeouts; `offline`
skips the ones that touch the network or spawn a process.

The package stacks without a cycle: `report` (Check, Report and the shared readings of a
config) at the bottom; `checks` (static), `probes` (live, with `auth` and `procs`) and
`openclaw` / `openclaw_checks` on it; `runner` on top. The names commands/ and tui/ use
are re-exported here.
"""

from laneboard.lanes.preflight.checks import (
    COMMAND_DENY_NOTE,
    check_command_sandbox,
    check_models,
    check_ollama_loopback,
    check_policy,
    static_checks,
)
from laneboard.lanes.preflight.report import (
    DEFAULT_OLLAMA_URL,
    GROUPS,
    Check,
    LaneView,
    Report,
    Status,
    describe,
    is_loopback_url,
    lane_views,
    ollama_providers,
    provider_config,
)
from laneboard.lanes.preflight.runner import run_preflight, run_preflight_async

__all__ = [
    "COMMAND_DENY_NOTE",
    "DEFAULT_OLLAMA_URL",
    "GROUPS",
    "Check",
    "LaneView",
    "Report",
    "Status",
    "check_command_sandbox",
    "check_models",
    "check_ollama_loopback",
    "check_policy",
    "describe",
    "is_loopback_url",
    "lane_views",
    "ollama_providers",
    "provider_config",
    "run_preflight",
    "run_preflight_async",
    "static_checks",
]
