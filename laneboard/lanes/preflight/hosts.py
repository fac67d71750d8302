"""Preflight for `hosts:`: every machine a lane or a model server runs on, checked before
anything spawns there.

    host.model-loopback  a provider on another host keeps its model server on that host's
                         loopback (static: laneboard reaches it through an SSH forward;
                         a server listening on a network address is a fail, as ollama.loopback)
    host.reachable       the host answers over SSH (key known, login works), live
    host.key-known       its host key is in known_hosts (never accepted by laneboard), live
    host.tmux            tmux is there, 3.2 or newer (control mode subscriptions), live
    host.binaries        each remote lane's program is on the HOST's PATH (the lane's env PATH
                         when set), with its version: never this machine's answer
    host.sandbox         a fenced lane laneboard sandboxes: bubblewrap installed and started
                         on the host with the lane's own sandbox argv
    host.model-server    the remote model server answers through the forward, with its models
    host.cwd             each remote lane's absolute cwd exists ON the host, and a writable
                         lane there would not need a worktree (laneboard makes none on
                         another host: a repository there needs `worktree: false`)
    host.conductor       a lane there that may delegate finds laneboard (and the MCP SDK) on
                         the host to run `laneboard mcp`, and the host's sshd opens a unix
                         socket forward (a probe, cancelled at once); without either the lane
                         starts without laneboard's tools (a warn: it works, cannot delegate)

Why a module of its own: these are the only checks that open SSH connections. Hosts are
probed in parallel, each within `timeout` seconds, and `--offline` skips every live one.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from laneboard.config import Config, LoadedConfig
from laneboard.core.harness_kinds import kind
from laneboard.harnesses.ssh_link import HostKeyUnknown, SshLink, SshLinkError, SshTarget
from laneboard.lanes.preflight.report import Check, is_loopback_url

_TMUX_VERSION = re.compile(r"tmux (?:next-)?(\d+)\.(\d+)")


def check_host_model_loopback(cfg: Config) -> list[Check]:
    """Static: a provider with `host:` names a loopback base_url on that host."""
    out = []
    for name, prov in cfg.providers.items():
        if prov.host is None:
            continue
        url = prov.base_url or ""
        if not url or not is_loopback_url(url):
            out.append(Check(
                "host.model-loopback", "fail", f"providers.{name}",
                f"the model server on host {prov.host!r} is at {url or '(no base_url)'}: "
                "a network address anyone on that network can use, with no key",
                f"make it listen on 127.0.0.1 on {prov.host} (e.g. OLLAMA_HOST=127.0.0.1, "
                "llama-server --host 127.0.0.1) and set base_url to http://127.0.0.1:PORT; "
                "laneboard reaches it through an SSH forward",
            ))  # fmt: skip
        else:
            out.append(Check("host.model-loopback", "ok", f"providers.{name}",
                             f"served on {prov.host}'s loopback, reached through an SSH forward"))
    return out


def target_of(cfg: Config, name: str) -> SshTarget:
    """How the lanes reach host `name` (`lanes.relays.ssh_target`: the same ssh config,
    `LANEBOARD_SSH_CONFIG` included), so preflight probes what the lanes will use."""
    from laneboard.lanes.relays import ssh_target

    return ssh_target(cfg, name)


async def host_checks(
    loaded: LoadedConfig,
    *,
    offline: bool,
    timeout: float = 5.0,
    targets: dict[str, SshTarget] | None = None,
) -> list[Check]:
    """Every host check; the live ones (in parallel) unless `offline`. `targets` replaces
    how a host is reached (tests point it at their own known_hosts)."""
    cfg = loaded.config
    checks = check_host_model_loopback(cfg)
    if not cfg.hosts:
        return checks
    if offline:
        return [*checks, *(Check("host.reachable", "skip", f"hosts.{n}", "offline: not probed")
                           for n in cfg.hosts)]
    chosen = targets or {}
    results = await asyncio.gather(*(
        _probe_host(cfg, name, chosen.get(name) or target_of(cfg, name), timeout)
        for name in cfg.hosts
    ))  # fmt: skip
    for found in results:
        checks += found
    return checks


async def _probe_host(cfg: Config, name: str, target: SshTarget, timeout: float) -> list[Check]:
    subject = f"hosts.{name}"
    with tempfile.TemporaryDirectory(prefix="lb-pf-") as tmp:
        link = SshLink(target, control_dir=Path(tmp) / "c", connect_timeout=timeout)
        try:
            try:
                await link.ensure()
            except HostKeyUnknown as exc:
                return [Check("host.key-known", "fail", subject, str(exc).split("\n")[0],
                              target.add_key_hint())]
            except SshLinkError as exc:
                return [Check("host.reachable", "fail", subject, str(exc),
                              f"check `ssh {target.destination}` works without a prompt "
                              "(key in your agent or identity_file; host up)")]
            out = [Check("host.reachable", "ok", subject, f"ssh {target.label}: logged in"),
                   Check("host.key-known", "ok", subject, "host key known")]
            out.append(await _tmux(link, subject, timeout))
            out += await _binaries(cfg, name, link, subject, timeout)
            out += await _model_servers(cfg, name, link, timeout)
            out += await _conductor(cfg, name, link, timeout)
            out += await _cwds(cfg, name, link, timeout)
            return out
        finally:
            await link.close()


async def _tmux(link: SshLink, subject: str, timeout: float) -> Check:
    rc, out, err = await link.run(["tmux", "-V"], timeout=timeout)
    m = _TMUX_VERSION.search(out)
    if rc != 0 or m is None:
        return Check("host.tmux", "fail", subject, f"no tmux there ({' '.join(err.split())})",
                     "install tmux 3.2 or newer on the host (e.g. apt-get install tmux)")
    if (int(m.group(1)), int(m.group(2))) < (3, 2):
        return Check("host.tmux", "fail", subject, f"{out.strip()} is too old",
                     "install tmux 3.2 or newer on the host")
    return Check("host.tmux", "ok", subject, out.strip())


async def _binaries(
    cfg: Config, host: str, link: SshLink, subject: str, timeout: float
) -> list[Check]:
    """Each remote lane's program on the HOST's PATH (the lane's env PATH when it sets one:
    that is the PATH the lane gets there), with its version; and for a fenced lane that
    laneboard sandboxes, bubblewrap on the host — found and started there. Nothing here
    asks this machine: a program installed here and missing there is a fail."""
    wanted: dict[tuple[str, str], str] = {}
    sandboxed: dict[str, tuple[str, str]] = {}
    for lane_id, lane in cfg.lanes.items():
        if lane.host != host:
            continue
        program = lane.command[0] if lane.command else kind(lane.harness).binary
        if program:
            wanted.setdefault((program, lane.env.get("PATH", "")), lane_id)
        if kind(lane.harness).sandboxed and lane.fence != "full":
            cwd = lane.cwd if lane.cwd and lane.cwd.startswith("/") else "/tmp"
            sandboxed.setdefault(lane_id, (lane.fence, cwd))
    out = []
    for (program, lane_path), lane_id in wanted.items():
        # `command -v` through sh with the program as $1: its name is never code there
        rc, path, _ = await link.run(
            ["/bin/sh", "-c", _WHICH, "sh", program, lane_path], timeout=timeout
        )
        found = path.strip().splitlines()[0] if path.strip() else ""
        if rc != 0 or not found.startswith("/"):
            where = "the lane's env PATH" if lane_path else "its PATH"
            out.append(Check("host.binaries", "fail", f"lanes.{lane_id}",
                             f"{program!r} is not on host {host!r} ({where}); it is looked "
                             "for there, not on this machine",
                             f"install {program} on {host} (or set the lane's env PATH to "
                             "where it is there)"))
            continue
        _rc, vout, _ = await link.run([found, "--version"], timeout=timeout)
        version = vout.strip().splitlines()[0] if vout.strip() else ""
        out.append(Check("host.binaries", "ok", f"lanes.{lane_id}",
                         f"{found} on {host}" + (f" ({version})" if version else "")))
    for lane_id, (fence, cwd) in sandboxed.items():
        out.append(await _sandbox(link, host, lane_id, fence, cwd, timeout))
    return out


async def _conductor(cfg: Config, host: str, link: SshLink, timeout: float) -> list[Check]:
    """host.conductor for every lane on `host` that may delegate (`lanes.<id>.delegates`,
    or an orchestrator by default: the conductor's own rule), asked on the host with the
    interpreters the lane will try (`harnesses.remote_conductor`)."""
    from laneboard.harnesses.remote_conductor import laneboard_python, missing_note

    out: list[Check] = []
    forward_ok: str | None = None  # asked once per host, when a lane there may delegate
    for lane_id, lane in cfg.lanes.items():
        may = lane.delegates if lane.delegates is not None else (
            ["*"] if lane.role == "orchestrator" else [])
        if lane.host != host or not may:
            continue
        if forward_ok is None:
            forward_ok = await _socket_forward_refused(link, timeout) or ""
            if forward_ok:
                out.append(Check(
                    "host.conductor", "warn", f"hosts.{host}",
                    f"the host's sshd refuses unix socket forwards ({forward_ok}): lanes "
                    "there that may delegate start without laneboard's tools",
                    f"set `AllowStreamLocalForwarding yes` (or `remote`) in {host}'s "
                    "sshd_config"))
        python = await laneboard_python(link, lane.env, timeout)
        subject = f"lanes.{lane_id}"
        if python is None:
            out.append(Check("host.conductor", "warn", subject,
                             missing_note(lane_id, host, lane.env),
                             f"on {host}: pip install laneboard (with its mcp dependency), "
                             "then set LANEBOARD_PYTHON in the lane's env to that python"))
        else:
            out.append(Check("host.conductor", "ok", subject,
                             f"{python} on {host} runs `laneboard mcp`; the control socket "
                             "reaches it through an SSH socket forward"))
    return out


async def _socket_forward_refused(link: SshLink, timeout: float) -> str | None:
    """Why the host's sshd refuses a reverse unix socket forward (what the conductor needs
    there), or None when it opens one: a forward of a socket in a fresh private folder on
    the host (`mktemp -d`) to a path here nothing listens on, cancelled at once."""
    rc, out, err = await link.run(["mktemp", "-d"], timeout=timeout)
    folder = out.strip()
    if rc != 0 or not folder.startswith("/"):
        return f"no private folder for the probe: {' '.join(err.split()) or rc}"
    try:
        with tempfile.TemporaryDirectory(prefix="lb-pf-") as here:
            remote = f"{folder}/probe.sock"
            try:
                await link.open_reverse_socket(remote, f"{here}/nothing.sock")
            except SshLinkError as exc:
                return str(exc).split(";")[0]
            await link.close_reverse_socket(remote)
            return None
    finally:
        await link.run(["rmdir", "--", folder], timeout=timeout)


async def _cwds(cfg: Config, host: str, link: SshLink, timeout: float) -> list[Check]:
    """host.cwd for every lane on `host` with an absolute `cwd:` (a relative one is
    relative to the workspace of the process that starts it: asked at the start)."""
    from laneboard.lanes.relays import remote_cwd_problem

    out = []
    for lane_id, lane in cfg.lanes.items():
        if lane.host != host or not lane.cwd or not lane.cwd.startswith("/"):
            continue
        problem = await remote_cwd_problem(link, lane_id, lane, lane.cwd, timeout)
        if problem is None:
            out.append(Check("host.cwd", "ok", f"lanes.{lane_id}",
                             f"{lane.cwd} exists on {host}; the lane runs there"))
        else:
            out.append(Check("host.cwd", "fail", f"lanes.{lane_id}", problem[0], problem[1]))
    return out


#: `command -v` of $1, with PATH=$2 when the lane's env sets one.
_WHICH = '[ -n "$2" ] && PATH=$2; command -v -- "$1"'


async def _sandbox(
    link: SshLink, host: str, lane_id: str, fence: str, cwd: str, timeout: float
) -> Check:
    """host.sandbox: bwrap on the host, started there with the lane's own sandbox argv."""
    from laneboard.harnesses import sandbox

    subject = f"lanes.{lane_id}"
    rc, path, _ = await link.run(["/bin/sh", "-c", _WHICH, "sh", "bwrap", ""], timeout=timeout)
    bwrap = path.strip().splitlines()[0] if path.strip() else ""
    if rc != 0 or not bwrap.startswith("/"):
        return Check("host.sandbox", "fail", subject,
                     f"fence {fence} needs bubblewrap on host {host!r} and `bwrap` is not "
                     "installed there: the lane will not start",
                     f"{sandbox.INSTALL_HINT} on {host}")
    rc, out, err = await link.run(
        sandbox.sandbox_argv(fence, cwd, ["/bin/true"], bwrap=bwrap), timeout=timeout
    )
    if rc != 0:
        why = (err or out).strip().splitlines()
        return Check("host.sandbox", "fail", subject,
                     f"bubblewrap did not start on host {host!r} "
                     f"({why[-1] if why else f'exit {rc}'})",
                     f"enable unprivileged user namespaces on {host}, or `fence: full`")
    return Check("host.sandbox", "ok", subject, f"{bwrap} starts a {fence} sandbox on {host}")


async def _model_servers(cfg: Config, host: str, link: SshLink, timeout: float) -> list[Check]:
    import aiohttp

    out = []
    for name, prov in cfg.providers.items():
        if prov.host != host or not prov.base_url or not is_loopback_url(prov.base_url):
            continue
        parts = urlsplit(prov.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        subject = f"providers.{name}"
        try:
            local = await link.open_forward(port)
        except SshLinkError as exc:
            out.append(Check("host.model-server", "fail", subject, str(exc),
                             "allow TCP forwarding for your user in the host's sshd_config"))
            continue
        try:
            path = "/api/tags" if kind(prov.harness).local_models else "/v1/models"
            url = f"{parts.scheme}://127.0.0.1:{local}{path}"
            limit = aiohttp.ClientTimeout(total=timeout)
            async with aiohttp.ClientSession(timeout=limit) as s, s.get(url) as resp:
                body = json.loads(await resp.text())
            items = body.get("models") or body.get("data") or []
            names = [str(i.get("name") or i.get("id")) for i in items if isinstance(i, dict)]
            out.append(Check("host.model-server", "ok", subject,
                             f"answers on {host}'s loopback :{port}; models: "
                             + (", ".join(names) or "none pulled")))
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError) as exc:
            out.append(Check("host.model-server", "fail", subject,
                             f"no model server answers on {host}'s 127.0.0.1:{port} ({exc!r})",
                             f"start it on {host}, listening on 127.0.0.1:{port}"))
        finally:
            await link.close_forward(local)
    return out
