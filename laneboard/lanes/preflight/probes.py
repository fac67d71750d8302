"""Live pre-flight probes: the machine, the CLIs, the logins and the endpoints.

Every probe is a coroutine with its own short deadline, and all of them run at once, so
a pre-flight with every endpoint down costs one timeout, not the sum of them. Processes
are spawned with asyncio (`tmux -V`, `claude --version`, `codex --version`,
`codex login status`), HTTP goes through one httpx client. `offline` turns every probe
that touches the network or spawns a process into a `skip`; the ones that only read local
state (environment variables, credential files, the artifacts directory) still run.

A probe never raises: whatever goes wrong becomes a `fail` with a fix.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import tempfile
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from laneboard.config import LoadedConfig
from laneboard.core.harness_kinds import KINDS, kind
from laneboard.lanes.preflight.auth import auth_needs, probe_auth
from laneboard.lanes.preflight.procs import PROC_TIMEOUT_S, first_line, meaningful_line, run_cmd
from laneboard.lanes.preflight.report import (
    DEFAULT_OLLAMA_URL,
    Check,
    Status,
    is_loopback_url,
    lane_views,
    ollama_providers,
)
from laneboard.lanes.refs import Catalog, resolve

HTTP_TIMEOUT_S = 1.5
CONNECT_TIMEOUT_S = 0.5  # a local endpoint answers in microseconds, a LAN one in milliseconds
#: The agent CLIs a lane may need on PATH, and the kinds that run in tmux (the registry's).
CLI_BINARIES: dict[str, str] = {k.name: k.binary for k in KINDS.values() if k.binary}
TMUX_HARNESSES = {k.name for k in KINDS.values() if k.transport == "tmux"}


# ---------------------------------------------------------------- tmux and CLIs


async def probe_tmux(env: Mapping[str, str], needed: bool) -> Check:
    r = await run_cmd(["tmux", "-V"], env)
    if r.found and r.rc == 0:
        return Check("tmux.available", "ok", "tmux", first_line(r.out))
    status: Status = "fail" if needed else "warn"
    why = "interactive lanes run in tmux panes" if needed else "no lane needs it yet"
    what = "did not answer `tmux -V`" if r.found else "is not installed"
    return Check(
        "tmux.available",
        status,
        "tmux",
        f"tmux {what} ({why})",
        "install tmux 3.2 or newer (apt install tmux / brew install tmux)",
    )


async def probe_cli(harness: str, env: Mapping[str, str]) -> Check:
    binary = CLI_BINARIES[harness]
    r = await run_cmd([binary, "--version"], env)
    if r.found and r.rc == 0:
        return Check("cli.installed", "ok", binary, meaningful_line(r.out) or "installed")
    package = kind(harness).npm_package or binary
    if not r.found:
        return Check(
            "cli.installed",
            "fail",
            binary,
            f"`{binary}` is not on PATH",
            f"npm install -g {package}",
        )
    detail = "timed out" if r.timed_out else f"exited {r.rc}: {first_line(r.out)}"
    return Check(
        "cli.installed",
        "fail",
        binary,
        f"`{binary} --version` {detail}",
        f"reinstall it: npm install -g {package}",
    )


# ---------------------------------------------------------------- ollama


def ollama_endpoints(loaded: LoadedConfig) -> dict[str, set[str]]:
    """base_url → provider-side model names the config uses there (embed model included)."""
    cfg = loaded.config
    oll = ollama_providers(cfg)
    catalog = Catalog.from_config(cfg)
    out: dict[str, set[str]] = {}

    def add(provider: str, lane_provider: str | None, raw: str) -> None:
        res = resolve(catalog, raw)
        if not res.ok or res.catalog_entry is None or res.catalog_entry.entry is None:
            return
        prov = lane_provider or res.provider or ""
        if prov not in oll:
            return
        pc = oll[prov]
        url = ((pc.base_url if pc else None) or DEFAULT_OLLAMA_URL).rstrip("/")
        out.setdefault(url, set()).add(res.catalog_entry.entry.id or res.catalog_entry.model)

    for view in lane_views(cfg):
        lane = cfg.lanes[view.lane_id]
        for res, _ in view.chain:
            add(res.provider or "", lane.provider, res.input)
    if cfg.artifacts.embed_model:
        add("", None, cfg.artifacts.embed_model)
    return out


def _pulled(name: str, tags: set[str]) -> bool:
    return name in tags or (":" not in name and f"{name}:latest" in tags)


async def probe_ollama(url: str, models: set[str], client: Any) -> list[Check]:
    """GET /api/version and /api/tags at one Ollama endpoint."""
    import httpx

    subject = url
    try:
        version_r, tags_r = await asyncio.gather(
            client.get(f"{url}/api/version"), client.get(f"{url}/api/tags")
        )
        version_r.raise_for_status()
        tags_r.raise_for_status()
        version = version_r.json().get("version", "?")
        tags = {
            str(m.get("name") or m.get("model"))
            for m in tags_r.json().get("models", [])
            if isinstance(m, dict)
        }
    except (httpx.HTTPError, ValueError, AttributeError) as e:
        reason = type(e).__name__ if not str(e) else f"{type(e).__name__}: {e}"
        return [
            Check(
                "ollama.reachable",
                "fail",
                subject,
                f"Ollama did not answer ({reason})",
                "start it: `ollama serve` (bound to 127.0.0.1), or fix base_url",
            ),
            Check("ollama.models", "skip", subject, "Ollama is unreachable"),
        ]
    out = [Check("ollama.reachable", "ok", subject, f"Ollama {version}")]
    missing = sorted(m for m in models if not _pulled(m, tags))
    for m in missing:
        out.append(
            Check("ollama.models", "fail", m, f"{m} is not pulled at {url}", f"ollama pull {m}")
        )
    if not missing:
        out.append(
            Check(
                "ollama.models",
                "ok",
                subject,
                f"all pulled: {', '.join(sorted(models)) or '(none used)'}",
            )
        )
    return out


def wildcard_listeners(port: int, proc: Path = Path("/proc/net")) -> list[str] | None:
    """Wildcard addresses listening on `port`, from /proc/net/tcp{,6}; None if unknown."""
    found: list[str] = []
    seen_any = False
    for name, wildcard in (("tcp", "00000000"), ("tcp6", "0" * 32)):
        try:
            lines = (proc / name).read_text().splitlines()[1:]
        except OSError:
            continue
        seen_any = True
        for line in lines:
            parts = line.split()
            if len(parts) < 4 or parts[3] != "0A":  # 0A = LISTEN
                continue
            addr, _, hexport = parts[1].partition(":")
            if int(hexport, 16) == port and addr == wildcard:
                found.append("0.0.0.0" if name == "tcp" else "[::]")
    return found if seen_any else None


def probe_ollama_bind(url: str) -> Check:
    """Live half of ollama.loopback: is the port also listening on a wildcard address?"""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = wildcard_listeners(port)
    if found is None:
        return Check("ollama.loopback", "skip", url, "cannot read listening sockets here")
    if found:
        return Check(
            "ollama.loopback",
            "warn",
            url,
            f"port {port} listens on {', '.join(found)}: Ollama is open to the network",
            "restart Ollama with OLLAMA_HOST=127.0.0.1",
        )
    return Check("ollama.loopback", "ok", url, f"port {port} is not bound to a wildcard address")


# ---------------------------------------------------------------- tmux session, artifacts


def review_session(loaded: LoadedConfig, environ: Mapping[str, str], cwd: Path) -> tuple[str, str]:
    """(socket, session) laneboard's lanes live in, named as the supervisor names them."""
    cfg = loaded.config
    socket = environ.get("LANEBOARD_TMUX_SOCKET", "").strip() or cfg.tmux.socket
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", cwd.resolve().name).strip("-") or "root"
    session = cfg.tmux.session or f"lb-{name}"[:48]
    return socket, re.sub(r"[^A-Za-z0-9_-]", "_", session.strip()) or "laneboard"


async def probe_review_session(
    loaded: LoadedConfig, environ: Mapping[str, str], cwd: Path
) -> Check:
    """The review lane's pane on laneboard's tmux server, when laneboard runs here.

    No server on the socket, or no session for this workspace, means laneboard is not
    running here, so the lane is not expected to be up: skip. A session without a live
    review pane is a failure: the cockpit runs but a review would have nowhere to go.
    """
    reviewers = [
        lid
        for lid, lane in loaded.config.lanes.items()
        if lane.role == "reviewer" and lane.mode == "interactive"
    ]
    if not reviewers:
        return Check("tmux.review-session", "skip", "review", "no interactive reviewer lane")
    lane_id = reviewers[0]
    socket, session = review_session(loaded, environ, cwd)
    subject = f"{lane_id} ({session} on {socket})"
    base = ["tmux", "-S" if "/" in socket else "-L", socket]
    half = PROC_TIMEOUT_S / 2
    has = await run_cmd([*base, "has-session", "-t", f"={session}"], environ, half)
    if not has.found:
        return Check("tmux.review-session", "skip", subject, "tmux is not installed")
    if has.rc != 0:
        return Check(
            "tmux.review-session",
            "skip",
            subject,
            f"laneboard is not running here (no session {session!r} on socket {socket!r})",
        )
    fmt = "#{@laneboard_lane}|#{pane_dead}"  # tmux may mangle a tab without a UTF-8 locale
    panes = await run_cmd(
        [*base, "list-panes", "-s", "-t", f"={session}", "-F", fmt], environ, half
    )
    states = [line.rsplit("|", 1) for line in panes.out.splitlines() if "|" in line]
    live = [lane for lane, dead in states if lane == lane_id and dead != "1"]
    if panes.rc == 0 and live:
        return Check("tmux.review-session", "ok", subject, "the review lane's pane is live")
    what = "dead" if any(lane == lane_id for lane, _ in states) else "missing"
    return Check(
        "tmux.review-session",
        "fail",
        subject,
        f"laneboard runs in session {session!r} but the {lane_id} lane's pane is {what}",
        f"start it: laneboard lanes start {lane_id}",
    )


def check_artifacts_writable(loaded: LoadedConfig, cwd: Path) -> Check:
    """Write and delete an anonymous temp file; a missing dir needs a writable ancestor."""
    d = Path(loaded.config.artifacts.dir)
    d = d if d.is_absolute() else cwd / d
    subject = str(d)
    if d.exists() and not d.is_dir():
        return Check(
            "artifacts.writable",
            "fail",
            subject,
            "exists but is not a directory",
            "point artifacts.dir at a directory",
        )
    if d.is_dir():
        try:
            with tempfile.TemporaryFile(dir=d):
                pass
        except OSError as e:
            return Check(
                "artifacts.writable",
                "fail",
                subject,
                f"not writable: {e.strerror}",
                f"chmod u+w {d} or point artifacts.dir elsewhere",
            )
        return Check("artifacts.writable", "ok", subject, "writable")
    parent = d.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if os.access(parent, os.W_OK | os.X_OK):
        return Check("artifacts.writable", "ok", subject, f"will be created (in {parent})")
    return Check(
        "artifacts.writable",
        "fail",
        subject,
        f"does not exist and {parent} is not writable",
        f"mkdir -p {d} or point artifacts.dir elsewhere",
    )


# ---------------------------------------------------------------- all together


async def _bounded(
    name: str, subject: str, coro: Awaitable[Check | list[Check]], deadline: float
) -> list[Check]:
    """A probe with a hard deadline: lateness is a failure, never a hang."""
    try:
        result = await asyncio.wait_for(coro, deadline)
    except TimeoutError:
        return [
            Check(
                name,
                "fail",
                subject,
                f"no answer within {deadline:g} s",
                "check that the tool or endpoint is responsive",
            )
        ]
    return result if isinstance(result, list) else [result]


async def _http_probes(endpoints: dict[str, set[str]], http_timeout: float) -> list[Check]:
    """Every Ollama endpoint, through one client.

    httpx is imported in a worker thread so the process probes, already running, are not
    held up by it (with trio installed, httpcore's import alone takes ~0.3 s); the CA
    bundle is loaded only when an endpoint is https, for the same reason.
    """
    httpx = await asyncio.to_thread(importlib.import_module, "httpx")
    timeout = httpx.Timeout(http_timeout, connect=min(CONNECT_TIMEOUT_S, http_timeout))
    verify = any(u.startswith("https:") for u in endpoints)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, verify=verify) as client:
        results = await asyncio.gather(
            *(
                _bounded(
                    "ollama.reachable", url, probe_ollama(url, models, client), http_timeout + 0.5
                )
                for url, models in sorted(endpoints.items())
            )
        )
    return [c for r in results for c in r]


async def live_checks(
    loaded: LoadedConfig,
    *,
    offline: bool,
    environ: Mapping[str, str],
    cwd: Path,
    http_timeout: float = HTTP_TIMEOUT_S,
) -> list[Check]:
    """Every live check, concurrently. Offline: skips for the ones that would reach out."""
    cfg = loaded.config
    # a lane with `host:` needs its CLI on that host (`preflight.hosts`), not here
    harnesses = {lane.harness for lane in cfg.lanes.values() if lane.host is None}
    needs_tmux = any(
        lane.mode == "interactive" and lane.harness in TMUX_HARNESSES for lane in cfg.lanes.values()
    )
    clis = sorted(h for h in harnesses if h in CLI_BINARIES)
    endpoints = ollama_endpoints(loaded)
    out: list[Check] = [check_artifacts_writable(loaded, cwd)]
    needs = auth_needs(loaded, environ)
    if offline:
        out += [Check("tmux.available", "skip", "tmux", "offline")]
        out += [Check("cli.installed", "skip", CLI_BINARIES[h], "offline") for h in clis]
        out += [Check("ollama.reachable", "skip", u, "offline") for u in sorted(endpoints)]
        out += [Check("ollama.models", "skip", u, "offline") for u in sorted(endpoints)]
        out += [Check("tmux.review-session", "skip", "review", "offline")]
        for need in needs:
            out.append(await probe_auth(need, environ, offline=True))
        return out

    jobs: list[Awaitable[list[Check]]] = [
        _bounded("tmux.available", "tmux", probe_tmux(environ, needs_tmux), PROC_TIMEOUT_S + 1),
        _bounded(
            "tmux.review-session",
            "review",
            probe_review_session(loaded, environ, cwd),
            PROC_TIMEOUT_S + 1,
        ),
    ]
    jobs += [
        _bounded("cli.installed", CLI_BINARIES[h], probe_cli(h, environ), PROC_TIMEOUT_S + 1)
        for h in clis
    ]
    jobs += [
        _bounded(
            "auth.present", n.provider, probe_auth(n, environ, offline=False), PROC_TIMEOUT_S + 1
        )
        for n in needs
    ]
    if endpoints:
        jobs.append(_http_probes(endpoints, http_timeout))
        out += [probe_ollama_bind(u) for u in sorted(endpoints) if is_loopback_url(u)]
    results = await asyncio.gather(*jobs)
    for r in results:
        out += r
    return out
