"""Preflight's runner: load the config, run the static checks, then the live probes and,
with `--openclaw`, the OpenClaw checks. The top of the package: it imports the others,
none of them imports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from laneboard.config import load_config, load_effective
from laneboard.errors import ConfigError
from laneboard.lanes.preflight.checks import static_checks
from laneboard.lanes.preflight.report import Check, Report


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
    from laneboard.lanes.preflight import probes

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
            from laneboard.lanes.preflight.worktree_checks import worktree_checks

            report.checks += worktree_checks(loaded, here)
            from laneboard.lanes.preflight.gateway_keys import check_gateway_keys

            report.checks += check_gateway_keys(loaded.config, env)
            report.checks += await probes.live_checks(
                loaded, offline=offline, environ=env, cwd=here
            )
            from laneboard.lanes.preflight.hosts import host_checks

            report.checks += await host_checks(loaded, offline=offline)
    if openclaw_path:
        from laneboard.lanes.preflight.openclaw import load_openclaw
        from laneboard.lanes.preflight.openclaw_checks import check_openclaw

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
