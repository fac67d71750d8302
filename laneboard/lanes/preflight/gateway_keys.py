"""Preflight: does the running gateway hold the provider keys this environment has?

Why: the gateway gets provider keys once, when it is spawned (`gateway.key_handoff`);
a cockpit opened later adopts it as it is, since restarting it would break the streams of
running lanes. A key exported since (or a provider added to the config) is then missing
in the gateway: a fallback or routed tool on that provider is skipped for want of a
credential. This check names such variables (never a value) and says how to hand them
over. No running gateway: nothing to check (the next one gets every key at spawn).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from laneboard.config import Config
from laneboard.gateway.client import live_info
from laneboard.harnesses.private_fs import socket_tag
from laneboard.lanes.gateway_route import gateway_keys
from laneboard.lanes.preflight.report import Check


def _state(environ: Mapping[str, str]) -> Path:
    """The state dir the supervisor uses (not created here: preflight changes nothing)."""
    env = environ.get("LANEBOARD_STATE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_state_dir("laneboard"))


def check_gateway_keys(
    cfg: Config, environ: Mapping[str, str] | None = None, state: Path | None = None
) -> list[Check]:
    """gateway.keys: warn for each key variable set here that the running gateway of the
    config's tmux socket lacks; ok when it holds them all."""
    env = os.environ if environ is None else environ
    socket = env.get("LANEBOARD_TMUX_SOCKET") or cfg.tmux.socket
    folder = (state or _state(env)) / f"gateway-{socket_tag(socket or 'default')}"
    if not folder.is_dir():
        return []
    info = live_info(folder)
    if info is None:
        return []
    have = gateway_keys(cfg, env)
    missing = sorted(n for n in have if not info.keys.get(n))
    subject = f"gateway pid {info.pid}"
    if not missing:
        if not have:
            return []
        return [Check("gateway.keys", "ok", subject,
                      f"holds every provider key set here ({len(have)})")]
    names = ", ".join(f"${n}" for n in missing)
    return [Check(
        "gateway.keys", "warn", subject,
        f"the running gateway lacks {names} (set here): fallbacks and routed tools on "
        "those providers are skipped for want of a credential",
        "stop it when no lane is mid-turn (`laneboard gateway stop`); the next lane start "
        "spawns it with the keys of that process's environment",
    )]
