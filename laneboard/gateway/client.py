"""What the supervisor calls: start or adopt the gateway, and point a lane at it.

Why a separate process under laneboard's tmux server: lanes outlive the cockpit, so the
gateway they talk to must too. `ensure_gateway` adopts a running one (its info file names a
live pid whose port answers) or starts `python -m laneboard gateway run --supervise` in a
hidden window `_gateway` of the session; `--supervise` restarts the server with growing
backoff if it dies, and the server rebinds its recorded port, so lanes keep their URLs.

`route_lane` registers a lane (a fresh unguessable token, or the lane's existing one) and
returns the base URL its harness gets, shaped for how that harness takes one
(`core.harness_kinds.base_url_via`): Claude Code's ANTHROPIC_BASE_URL is the bare gateway
path (it appends `/v1/messages`); Codex gets the path its `/responses` hangs off (the
`-c model_providers.<id>.base_url=…` override is built from it by the codex harness); the
HTTP harnesses request below it as they would below their provider's URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shlex
import socket as socketlib
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from laneboard.core.harness_kinds import kind
from laneboard.core.procs import pid_alive
from laneboard.gateway.key_handoff import HandoffError, make_fifo, offer
from laneboard.gateway.registry import Candidate, LaneRoute, Registry, ToolRoute, new_token
from laneboard.gateway.statefiles import INFO, ROUTES, USAGE, gateway_dir, read_json

log = logging.getLogger("laneboard.gateway")

WINDOW = "_gateway"
START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class GatewayInfo:
    url: str
    port: int
    pid: int
    folder: Path
    started: float = 0.0
    keys: Mapping[str, bool] = field(default_factory=dict)
    """Key variables handed to the gateway (names only): whether it holds a value."""
    missing_keys: tuple[str, ...] = ()
    """Key variables this process has that the adopted gateway lacks (`ensure_gateway`)."""


def read_info(folder: Path) -> GatewayInfo | None:
    raw = read_json(folder / INFO)
    if not isinstance(raw, dict):
        return None
    try:
        keys = raw.get("keys")
        return GatewayInfo(str(raw["url"]), int(raw["port"]), int(raw["pid"]), folder,
                           float(raw.get("started", 0.0)),
                           {str(k): bool(v) for k, v in keys.items()}
                           if isinstance(keys, dict) else {})
    except (KeyError, TypeError, ValueError):
        return None


def answers(port: int) -> bool:
    try:
        with socketlib.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def live_info(folder: Path) -> GatewayInfo | None:
    info = read_info(folder)
    if info is not None and pid_alive(info.pid) and answers(info.port):
        return info
    return None


def run_argv(folder: Path, *, supervise: bool = True) -> list[str]:
    argv = [sys.executable, "-m", "laneboard", "gateway", "run", "--folder", str(folder)]
    return argv + (["--supervise"] if supervise else [])


def wait_live(folder: Path, *, after: float = 0.0, timeout: float = START_TIMEOUT_S,
              proc: subprocess.Popen[bytes] | None = None) -> GatewayInfo:
    """The gateway's info once it answers (started at or after `after`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = live_info(folder)
        if info is not None and info.started >= after:
            return info
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with {proc.returncode}; see {folder}/gateway.log")
        time.sleep(0.05)  # polling a file/port for a condition, with a deadline
    raise TimeoutError(f"the gateway did not answer within {timeout}s; see {folder}/gateway.log")


def ensure_gateway(
    socket: str | None,
    session: str,
    state: Path,
    keys: Mapping[str, str] | None = None,
    names: Sequence[str] = (),
) -> GatewayInfo:
    """Adopt the running gateway of this tmux server, or start one in its hidden window.

    `keys`: provider key values of this process (the supervisor's, where lanes get theirs)
    that the gateway may need for fallbacks and routed tools on other providers; `names`:
    every key variable the config names. A window started by tmux has the tmux server's
    environment, not ours, so they go through a FIFO (`key_handoff`): never a file, argv
    or log. An adopted gateway keeps the environment it has (restarting it would break
    the streams of running lanes): the variables this process has and it lacks are logged
    (names only) and returned in `missing_keys`, and `gateway status` shows them.
    """
    folder = gateway_dir(state, socket)
    info = live_info(folder)
    if info is not None:
        missing = tuple(sorted(n for n in (keys or {}) if not info.keys.get(n)))
        if missing:
            log.warning(
                "the running gateway (pid %d) lacks %s, which this process has: fallbacks "
                "and routed tools on those providers are skipped until it is restarted "
                "(laneboard gateway stop, then start a lane)",
                info.pid, ", ".join(f"${n}" for n in missing))
        return dataclasses.replace(info, missing_keys=missing)
    flag = "-S" if socket and "/" in socket else "-L"
    tmux = ["tmux", flag, socket or "default"]
    argv = run_argv(folder)
    fifo = make_fifo(folder, uuid.uuid4().hex[:12]) if keys or names else None
    if fifo is not None:
        argv += ["--keys-from", str(fifo)]
    env = {**os.environ, "LANEBOARD_STATE_DIR": str(state)}
    started = time.time() - 1.0
    try:
        subprocess.run([*tmux, "new-window", "-d", "-t", f"{session}:", "-n", WINDOW,
                        shlex.join(argv)], check=True, env=env, capture_output=True)
        if fifo is not None:
            try:
                offer(fifo, names, keys or {})
            except HandoffError as e:
                log.warning("provider keys not handed to the gateway: %s", e)
    finally:
        if fifo is not None:
            with contextlib.suppress(FileNotFoundError):
                fifo.unlink()
    return wait_live(folder, after=started)


def spawn_detached(folder: Path, *, supervise: bool = True) -> subprocess.Popen[bytes]:
    """Start the gateway as a plain child process (tests, `laneboard gateway run --detach`)."""
    log = open(folder / "gateway.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(run_argv(folder, supervise=supervise), stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def lane_base_url(info: GatewayInfo, token: str, harness: str, upstream: str) -> str:
    """The URL a lane's harness is given in place of its provider's `upstream`."""
    base = f"{info.url}/l/{token}"
    via = kind(harness).base_url_via
    path = urlsplit(upstream).path.rstrip("/")
    if via == "codex-config":
        # Codex appends `/responses` to a URL with a path; mirror the upstream's path so
        # `<gateway>/l/T/v1/responses` maps to `<upstream>/v1/responses`.
        return base + (path or "/v1")
    return base + path


def upstream_base(harness: str, upstream: str) -> str:
    """The provider URL the gateway forwards below (its path is carried in the lane URL)."""
    parts = urlsplit(upstream.rstrip("/"))
    return f"{parts.scheme}://{parts.netloc}"


def route_lane(
    info: GatewayInfo,
    lane_id: str,
    harness: str,
    spec_fields: Mapping[str, Any],
) -> str:
    """Register `lane_id` with the gateway and return the base URL its harness gets.

    `spec_fields`: `base_url` (the provider's; required), `model`, `provider` and
    `key_env` (the lane's own provider: a fallback of another provider never gets the
    lane's headers, see `gateway.route_auth`), `fallbacks` (a sequence of `{base_url,
    model, profile, cost, provider, key_env, keyless}`; without `provider` a fallback
    counts as another provider's), `profile`, `cost`, `strict`, `deny`, `secrets`,
    `artifacts` (the folder the lane's `turn` artifacts go to; None: none kept), `tools`
    (per-tool routes: `{patterns, lane, home, candidates: [{base_url, model, profile,
    cost, provider, key_env, keyless}]}`, see `gateway.route_auth` for the last three).
    """
    upstream = str(spec_fields["base_url"])
    if kind(harness).base_url_via in ("none",):
        raise ValueError(f"harness {harness!r} cannot be pointed at a gateway")
    reg = Registry(info.folder / ROUTES)
    old = reg.by_lane(lane_id)
    token = old.token if old is not None else new_token()
    first = Candidate(upstream_base(harness, upstream), spec_fields.get("model"),
                      str(spec_fields.get("profile") or upstream_base(harness, upstream)),
                      spec_fields.get("cost"), spec_fields.get("provider"),
                      spec_fields.get("key_env"))
    rest: Sequence[Mapping[str, Any]] = spec_fields.get("fallbacks") or ()
    cands = [first] + [
        Candidate(upstream_base(harness, str(f.get("base_url") or upstream)), f.get("model"),
                  str(f.get("profile") or f.get("base_url") or first.profile), f.get("cost"),
                  f.get("provider"), f.get("key_env"), bool(f.get("keyless", False)))
        for f in rest
    ]
    reg.put(LaneRoute(
        token=token, lane=lane_id, harness=harness, candidates=tuple(cands),
        strict=bool(spec_fields.get("strict", False)),
        deny=tuple(spec_fields.get("deny") or ()),
        secrets=tuple(spec_fields.get("secrets") or ()),
        artifacts=str(spec_fields["artifacts"]) if spec_fields.get("artifacts") else None,
        tools=tuple(
            ToolRoute(tuple(str(p) for p in t["patterns"]), str(t["lane"]), tuple(
                Candidate(upstream_base(harness, str(c.get("base_url") or upstream)),
                          c.get("model"), str(c.get("profile") or c.get("base_url")),
                          c.get("cost"), c.get("provider"), c.get("key_env"),
                          bool(c.get("keyless", False)))
                for c in t["candidates"]), t.get("home"))
            for t in spec_fields.get("tools") or ()
        ),
    ))
    return lane_base_url(info, token, harness, upstream)


def needed_keys(routes: Sequence[LaneRoute]) -> set[str]:
    """The key variables the gateway itself must hold for `routes`: those of fallbacks
    and routed-tool candidates on another provider than their lane's (the lane's own
    provider gets the CLI's headers)."""
    out: set[str] = set()
    for route in routes:
        home = route.candidates[0].provider if route.candidates else None
        for tool in route.tools:
            out |= {c.key_env for c in tool.candidates
                    if c.key_env and not (tool.home and c.provider == tool.home)}
        out |= {c.key_env for c in route.candidates[1:]
                if c.key_env and not (home and c.provider == home)}
    return out


def status(folder: Path) -> dict[str, Any]:
    """The `laneboard gateway status --json` document. `missing_keys`: key variables the
    lanes' fallbacks or routed tools need that the running gateway does not hold (names
    only; each request to such a provider is skipped and counted)."""
    info = live_info(folder)
    usage = read_json(folder / USAGE)
    lanes: dict[str, Any] = {}
    if isinstance(usage, dict):
        keys = ("requests", "input_tokens", "output_tokens", "cost_usd", "refused",
                "redactions", "fallbacks", "failover_skipped", "routes_skipped")
        lanes = {lane: {k: v.get(k) for k in keys} for lane, v in usage.items()
                 if isinstance(v, dict)}
    return {
        "url": info.url if info else None,
        "pid": info.pid if info else None,
        "uptime_s": round(time.time() - info.started, 1) if info else None,
        "lanes": lanes,
        "missing_keys": sorted(
            n for n in needed_keys(list(Registry(folder / ROUTES).routes().values()))
            if not info.keys.get(n)) if info else [],
    }
