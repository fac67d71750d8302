"""The `auth.present` probes: is each provider a lane uses logged in, and until when?

Reads credential files and environment variables (still run `--offline`), and asks
`codex login status` when allowed to spawn. Why apart from the other probes: the login
rules of each CLI (token files, JWT expiry, API-key variables) are a topic of their own.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laneboard.config import LoadedConfig
from laneboard.core.harness_kinds import kind
from laneboard.lanes.preflight.procs import meaningful_line, run_cmd
from laneboard.lanes.preflight.report import Check, lane_views, provider_config

DAY_S = 24 * 3600


def _jwt_exp(token: str) -> float | None:
    """The `exp` claim of a JWT, without verifying it (we only want to warn early)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) else None


def expiry_check(subject: str, expires_at: float | None, now: float, login: str) -> Check:
    """ok / warn (under 24 h) / fail (expired) for a credential expiring at `expires_at`."""
    if expires_at is None:
        return Check("auth.present", "ok", subject, "logged in")
    left = expires_at - now
    if left <= 0:
        return Check(
            "auth.present",
            "fail",
            subject,
            f"login expired {_ago(-left)} ago",
            f"log in again: {login}",
        )
    if left < DAY_S:
        return Check(
            "auth.present",
            "warn",
            subject,
            f"login expires in {_ago(left)}",
            f"refresh it now: {login}",
        )
    return Check("auth.present", "ok", subject, f"logged in (expires in {_ago(left)})")


def _ago(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * DAY_S:
        return f"{seconds / 3600:.1f} h"
    return f"{int(seconds // DAY_S)} days"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def claude_auth(subject: str, env: Mapping[str, str], now: float) -> Check:
    """Claude Code's own login: an OAuth token env var or ~/.claude/.credentials.json."""
    if env.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return Check("auth.present", "ok", subject, "CLAUDE_CODE_OAUTH_TOKEN is set")
    base = (
        Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else _home(env) / ".claude"
    )
    creds = base / ".credentials.json"
    login = "run `claude` and /login, or set the provider's api_key_env"
    try:
        data = json.loads(creds.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Check(
            "auth.present",
            "fail",
            subject,
            f"no API key in the environment and no Claude login ({creds})",
            login,
        )
    except (OSError, ValueError) as e:
        return Check("auth.present", "fail", subject, f"cannot read {creds}: {e}", login)
    oauth = data.get("claudeAiOauth") if isinstance(data, dict) else None
    if not isinstance(oauth, dict) or not oauth.get("accessToken"):
        return Check("auth.present", "fail", subject, f"{creds} holds no login", login)
    exp = oauth.get("expiresAt")
    expires = float(exp) / 1000 if isinstance(exp, (int, float)) else None
    return expiry_check(subject, expires, now, login)


async def codex_auth(subject: str, env: Mapping[str, str], now: float) -> Check:
    """`codex login status`, then the token expiry in $CODEX_HOME/auth.json."""
    login = "run `codex login`"
    r = await run_cmd(["codex", "login", "status"], env)
    if not r.found:
        return Check(
            "auth.present",
            "fail",
            subject,
            "codex is not installed, so no login",
            "npm install -g @openai/codex, then codex login",
        )
    if r.rc != 0:
        detail = "timed out" if r.timed_out else meaningful_line(r.out, "login") or f"exit {r.rc}"
        return Check("auth.present", "fail", subject, f"codex is not logged in ({detail})", login)
    home = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else _home(env) / ".codex"
    try:
        data = json.loads((home / "auth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Check("auth.present", "ok", subject, meaningful_line(r.out, "login") or "logged in")
    if isinstance(data, dict) and data.get("OPENAI_API_KEY"):
        return Check("auth.present", "ok", subject, "codex uses an API key")
    tokens = data.get("tokens") if isinstance(data, dict) else None
    token = tokens.get("access_token") if isinstance(tokens, dict) else None
    exp = _jwt_exp(token) if isinstance(token, str) else None
    return expiry_check(subject, exp, now, login)


@dataclass(frozen=True)
class AuthNeed:
    """One credential some lane needs: which provider, how it logs in, in which HOME."""

    provider: str
    harness: str
    key_env: str | None
    env: tuple[tuple[str, str], ...]
    lanes: tuple[str, ...]


def auth_needs(loaded: LoadedConfig, environ: Mapping[str, str]) -> list[AuthNeed]:
    """The distinct credentials the lanes' chains need (a lane's env may move HOME)."""
    cfg = loaded.config
    needs: dict[tuple[Any, ...], AuthNeed] = {}
    for view in lane_views(cfg):
        lane = cfg.lanes[view.lane_id]
        relevant = tuple(
            (k, v)
            for k, v in sorted(lane.env.items())
            if k in {"HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR"}
        )
        for res, _ in view.chain:
            provider = lane.provider or res.provider or ""
            pc = provider_config(cfg, provider)
            harness = pc.harness if pc else lane.harness
            if kind(harness).auth_probe == "none":
                continue
            key = (provider, harness, pc.api_key_env if pc else None, relevant)
            old = needs.get(key)
            lanes = (old.lanes if old else ()) + (
                (view.lane_id,) if not old or view.lane_id not in old.lanes else ()
            )
            needs[key] = AuthNeed(provider, harness, key[2], relevant, lanes)
    return list(needs.values())


async def probe_auth(need: AuthNeed, environ: Mapping[str, str], offline: bool) -> Check:
    env = {**environ, **dict(need.env)}
    subject = need.provider + (f" (lanes {', '.join(need.lanes)})" if need.env else "")
    if need.key_env and env.get(need.key_env, "").strip():
        return Check("auth.present", "ok", subject, f"${need.key_env} is set")
    now = time.time()
    probe = kind(need.harness).auth_probe
    if probe == "claude-credentials":
        return claude_auth(subject, env, now)
    if probe == "codex-login":
        if offline:
            return Check("auth.present", "skip", subject, "offline: `codex login status` not run")
        return await codex_auth(subject, env, now)
    if need.key_env:
        return Check(
            "auth.present",
            "fail",
            subject,
            f"${need.key_env} is not set",
            f"export {need.key_env}=… (the key stays in your environment)",
        )
    return Check(
        "auth.present",
        "warn",
        subject,
        "no api_key_env: cannot tell how it logs in",
        f"set providers.{need.provider}.api_key_env",
    )
