"""Which tmux server a lane runs on: the local relay, or one `RemoteTmuxRelay` per host.

Why a small owner of its own: the supervisor used to hold exactly one relay. A lane with
`host: NAME` runs in laneboard's tmux server on that machine, driven through one SSH link
per host (`harnesses.ssh_link`), shared by every lane of that host and by the port
forwards to the host's model servers. Keeping the links, the relays and the forward
reference counts here means the supervisor only asks "the relay of this lane" and
"the forward this lane needs", and `close()` has one place that detaches all of them
(remote tmux and its lanes keep running; only our SSH masters go away).

Forwards: a provider with `host: NAME` serves `base_url` on that host's loopback. A lane
that runs *here* reaches it through an SSH local forward, opened when the first such lane
starts and closed when the last one stops (`acquire_forward` / `release_forward`); the
lane's spec then names the forward's local port (`forwarded_url`). A lane that runs on the
provider's own host needs no forward: the loopback URL is right there.

Reverse forwards: a lane that runs on a host but talks to a model endpoint on THIS
machine's loopback (laneboard's gateway, or a local provider) cannot reach 127.0.0.1 here
from there. `acquire_reverse` has the host's sshd listen on the host's loopback and carry
connections back (`SshLink.open_reverse`), shared by the host's lanes per local port and
closed with the last of them; `reversed` points the lane's spec at the host's port.

The control socket: a lane on a host that may delegate runs `laneboard mcp` THERE, and
the supervisor's control socket is a unix socket HERE. `acquire_reverse` also forwards it
(`SshLink.open_reverse_socket`) to a socket file in a 0700 `conductor` folder of
laneboard's private state dir on the host, shared by the host's lanes and closed with the
last of them; `reversed` gives the lane the host's path (or no socket at all when there is
no forward: this machine's path means nothing there). A forward sshd refuses leaves the
lane without laneboard's tools, said in the log and as the lane's last error
(`conductor_notes`); it still starts.

Working directories: a lane with `host:` runs in its `cwd` ON THE HOST and never gets a
local worktree (`lanes.worktrees.lane_cwd`); `check_remote_cwd` refuses at start one whose
cwd is not there, or a writable one whose cwd there is in a git repository (laneboard makes
no worktree on another host; the fix: `worktree: false`). Preflight asks the same
(`remote_cwd_problem`, check `host.cwd`).

`LANEBOARD_SSH_CONFIG` names an ssh config file used instead of `~/.ssh/config` (`ssh -F`),
e.g. one with its own `UserKnownHostsFile`; the host-key rules do not change with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from laneboard.core.vocabulary import WRITABLE_FENCES
from laneboard.errors import HarnessError, LaneError

if TYPE_CHECKING:
    from laneboard.config import Config
    from laneboard.config.models import LaneConfig
    from laneboard.harnesses.base import HarnessSpec
    from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
    from laneboard.harnesses.ssh_link import SshLink, SshTarget
    from laneboard.harnesses.tmux import TmuxRelay
    from laneboard.harnesses.tmux_server import LaneWindow

log = logging.getLogger(__name__)

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def ssh_target(cfg: Config, name: str) -> SshTarget:
    """The `hosts:` entry `name` as an `SshTarget` (user's ssh config unless
    `LANEBOARD_SSH_CONFIG` names another)."""
    from laneboard.harnesses.ssh_link import SshTarget

    try:
        host = cfg.hosts[name]
    except KeyError:
        raise LaneError(f"no host named {name!r} in `hosts:`") from None
    return SshTarget(
        name=name,
        destination=host.ssh,
        port=host.port,
        identity_file=host.identity_file,
        ssh_config=os.environ.get("LANEBOARD_SSH_CONFIG") or None,
    )


def forwarded_url(base_url: str, local_port: int) -> str:
    """`base_url` with its host:port replaced by the forward's 127.0.0.1:`local_port`."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{local_port}"))


def _loopback_port(base_url: str) -> int:
    parts = urlsplit(base_url)
    if parts.hostname not in _LOOPBACK:
        raise LaneError(
            f"{base_url!r} is not a loopback URL: a provider with `host:` is reached through "
            "an SSH forward to that host's loopback (run the model server on 127.0.0.1 there)"
        )
    return parts.port or (443 if parts.scheme == "https" else 80)


async def remote_cwd_problem(
    link: SshLink, lane_id: str, lane: LaneConfig, cwd: str, timeout: float = 30.0
) -> tuple[str, str] | None:
    """(what is wrong, the fix) when a lane on `link`'s host cannot start in `cwd` there;
    None when it can. Asked on the host (one fixed script, the path as `$1`).

    Why refuse and not create a worktree there: a writable lane in a git repository works
    in its own worktree (`lanes.worktrees`) so two lanes never write in one tree, and
    every rule that keeps work from being lost (diff, merge, discard, the stale-worktree
    check) reads that worktree HERE. On another host laneboard could neither show nor
    merge it, so it makes none — and never lets the lane write in the shared checkout
    instead without being told (`worktree: false`). A missing directory is refused too:
    a tmux window asked for a directory that is not there opens in $HOME."""
    host = link.target.name
    rc, out, err = await link.run(["/bin/sh", "-c", _REPO_OF, "sh", cwd], timeout=timeout)
    if rc == 3:
        return (f"lane {lane_id!r}: its working directory {cwd} does not exist on host "
                f"{host!r}; a lane never runs anywhere else",
                f"set `lanes.{lane_id}.cwd:` to an absolute directory that exists on {host}")
    if rc != 0:
        return (f"lane {lane_id!r}: cannot look at {cwd} on host {host!r}: "
                f"{' '.join(err.split()) or f'exit {rc}'}",
                f"check that `ssh {link.target.label}` works and {cwd} is readable there")
    repo = out.strip()
    if lane.worktree is False:
        return None
    wants = lane.worktree is True or lane.replicas > 1 or (
        lane.fence in WRITABLE_FENCES and bool(repo))
    if not wants:
        return None
    where = f"inside the git repository {repo} there" if repo else "there"
    return (f"lane {lane_id!r} runs on host {host!r} and would work in its own git worktree "
            f"({lane.fence} lane, cwd {cwd} {where}); laneboard does not create worktrees "
            "on another host, so it will not start the lane",
            f"set `lanes.{lane_id}.worktree: false` (it then writes in {cwd} on {host} "
            f"itself), or a `cwd:` on {host} outside a git repository")


async def wait_link_back(link: SshLink, closed: Callable[[], bool]) -> None:
    """Until `link` is up again (the link's own backoff inside each `ensure`, and a pause
    of up to 30 s between rounds when the host stays away) or `closed()`. A changed host
    key is not waited out: it is logged and retried, never accepted."""
    pause = 1.0
    while not closed():
        try:
            await link.ensure()
            return
        except HarnessError as e:
            log.warning("host %s: still unreachable: %s", link.target.name, e)
        await asyncio.sleep(pause)  # backoff between reconnect rounds, not a sync point
        pause = min(pause * 2, 30.0)


@dataclass
class _Forward:
    port: int
    users: set[str] = field(default_factory=set)


@dataclass
class _SocketForward:
    path: str  # the socket file on the host
    users: set[str] = field(default_factory=set)


#: A private (0700) folder at $1 on the host: made under umask 077, never a symlink.
_PRIVATE_DIR = 'umask 077; mkdir -p -- "$1" && [ ! -L "$1" ] && chmod 700 -- "$1"'
_SUN_PATH_MAX = 107
#: $1 exists (else exit 3); prints the top of the git work tree it is in, if any — found
#: by its `.git` entry, so a host without git still answers.
_REPO_OF = (
    'cd -- "$1" 2>/dev/null || exit 3; d=$(pwd -P); '
    'while :; do [ -e "$d/.git" ] && { printf "%s\\n" "$d"; exit 0; }; '
    '[ -z "$d" ] || [ "$d" = / ] && exit 0; d=${d%/*}; done'
)


class LaneRelays:
    """The local relay, the per-host links and relays, and the open forwards of one
    supervisor (see the module docstring)."""

    def __init__(self, cfg: Config, socket: str, *, connect_timeout: float = 10.0) -> None:
        self.cfg = cfg
        self.socket = socket
        self.connect_timeout = connect_timeout
        self._local: TmuxRelay | None = None
        self.links: dict[str, SshLink] = {}
        self._remote: dict[str, RemoteTmuxRelay] = {}
        self._forwards: dict[str, _Forward] = {}
        self._reverse: dict[tuple[str, int], _Forward] = {}  # (host, local port) -> host port
        self._sockets: dict[tuple[str, str], _SocketForward] = {}  # (host, socket here)
        self.conductor_notes: dict[str, str] = {}
        """lane → why its control socket could not be forwarded to its host (the
        supervisor shows it as the lane's last error; cleared once a forward opens)."""
        self._lock = asyncio.Lock()

    # -- relays --------------------------------------------------------------------------

    @property
    def local(self) -> TmuxRelay:
        """The relay of every lane without `host:` (created on first use)."""
        if self._local is None:
            from laneboard.harnesses.tmux import TmuxRelay

            self._local = TmuxRelay(self.socket)
        return self._local

    def host_of(self, lane_id: str) -> str | None:
        lane = self.cfg.lanes.get(lane_id)
        return lane.host if lane is not None else None

    def link(self, host: str) -> SshLink:
        """The one SSH link to `host` (created on first use; connects lazily)."""
        link = self.links.get(host)
        if link is None:
            from laneboard.harnesses.ssh_link import SshLink

            link = SshLink(ssh_target(self.cfg, host), connect_timeout=self.connect_timeout)
            self.links[host] = link
        return link

    def for_host(self, host: str | None) -> TmuxRelay:
        if host is None:
            return self.local
        relay = self._remote.get(host)
        if relay is None:
            from laneboard.harnesses.remote_tmux import RemoteTmuxRelay

            relay = RemoteTmuxRelay(self.link(host), self.socket)
            self._remote[host] = relay
        return relay

    def for_lane(self, lane_id: str) -> TmuxRelay:
        """The relay the lane's window lives on."""
        return self.for_host(self.host_of(lane_id))

    def hosts(self, lane_ids: Iterable[str]) -> dict[str | None, list[str]]:
        """The lanes grouped by where they run (None: here)."""
        out: dict[str | None, list[str]] = {}
        for lane_id in lane_ids:
            out.setdefault(self.host_of(lane_id), []).append(lane_id)
        return out

    async def windows(self, session: str, lane_ids: Iterable[str]) -> tuple[
        dict[str, LaneWindow], dict[str, str]
    ]:
        """Every lane window of `session` on every server the lanes run on, and, for lanes
        whose host could not be asked, why (hosts asked in parallel)."""
        groups = self.hosts(lane_ids)

        async def ask(host: str | None) -> tuple[str | None, list[LaneWindow] | str]:
            relay = self.for_host(host)
            try:
                if not await relay.server_running():
                    return host, []
                return host, await relay.list_lanes(session)
            except HarnessError as e:
                return host, f"host {host!r} unreachable: {e}"

        found: dict[str, LaneWindow] = {}
        trouble: dict[str, str] = {}
        for host, answer in await asyncio.gather(*(ask(h) for h in groups)):
            ids = set(groups[host])
            if isinstance(answer, str):
                trouble.update(dict.fromkeys(ids, answer))
                continue
            found.update({w.lane: w for w in answer if w.lane in ids})
        return found, trouble

    def attach_argv(self, session: str, lane_id: str) -> list[str] | None:
        """`ssh -t … tmux attach` for a remote lane; None for a local one (the caller's
        own tmux attach applies)."""
        host = self.host_of(lane_id)
        if host is None:
            return None
        from laneboard.harnesses.remote_tmux import RemoteTmuxRelay

        relay = self.for_host(host)
        assert isinstance(relay, RemoteTmuxRelay)
        return relay.attach_argv(session, lane_id)

    # -- forwards ------------------------------------------------------------------------

    def _forward_need(self, lane_id: str, provider_id: str | None) -> tuple[str, str] | None:
        """(provider host, base_url) when the lane reaches its provider through a forward."""
        if provider_id is None:
            return None
        provider = self.cfg.providers.get(provider_id)
        if provider is None or provider.host is None or provider.base_url is None:
            return None
        if provider.host == self.host_of(lane_id):
            return None  # the lane runs on the model server's own host: loopback is right
        return provider.host, provider.base_url

    async def acquire_forward(self, lane_id: str, provider_id: str | None) -> int | None:
        """Open (or share) the forward `lane_id` needs to reach its provider; the local
        port, or None when it needs none. Raises HarnessError when ssh refuses."""
        need = self._forward_need(lane_id, provider_id)
        if need is None or provider_id is None:
            return None
        host, base_url = need
        async with self._lock:
            fwd = self._forwards.get(provider_id)
            if fwd is None:
                port = await self.link(host).open_forward(_loopback_port(base_url))
                fwd = self._forwards[provider_id] = _Forward(port)
            fwd.users.add(lane_id)
            return fwd.port

    async def release_forward(self, lane_id: str) -> None:
        """The lane stopped: close every forward it was the last user of."""
        async with self._lock:
            await self._release_reverse(lane_id)
            for provider_id, fwd in list(self._forwards.items()):
                fwd.users.discard(lane_id)
                if fwd.users:
                    continue
                del self._forwards[provider_id]
                host = self.cfg.providers[provider_id].host
                if host is not None and host in self.links:
                    with contextlib.suppress(HarnessError, OSError):
                        await self.links[host].close_forward(fwd.port)

    def forward_port(self, provider_id: str | None) -> int | None:
        fwd = self._forwards.get(provider_id) if provider_id else None
        return fwd.port if fwd is not None else None

    def forwarded(self, spec: HarnessSpec) -> HarnessSpec:
        """`spec` with its base_url pointed at the open forward to its provider, if any."""
        port = self.forward_port(spec.provider)
        if port is None or spec.base_url is None or self._forward_need(
            spec.lane, spec.provider
        ) is None:
            return spec
        from dataclasses import replace

        return replace(spec, base_url=forwarded_url(spec.base_url, port))

    # -- reverse forwards: a remote lane reaching an endpoint here ---------------------

    def _reverse_need(self, spec: HarnessSpec) -> tuple[str, int] | None:
        """(lane host, local port) when `spec` runs on a host but its base URL is this
        machine's loopback; None for a local lane or a URL the host serves itself."""
        host = self.host_of(spec.lane)
        if host is None or not spec.base_url:
            return None
        parts = urlsplit(spec.base_url)
        if parts.hostname not in _LOOPBACK:
            return None
        provider = self.cfg.providers.get(spec.provider) if spec.provider else None
        if provider is not None and provider.host == host and spec.base_url == provider.base_url:
            return None  # the model server on the lane's own host: its loopback is right
        return host, parts.port or (443 if parts.scheme == "https" else 80)

    async def acquire_reverse(self, spec: HarnessSpec) -> int | None:
        """Open (or share) the reverse forward `spec`'s lane needs to reach its base URL
        on this machine from its host; the host's port, or None when it needs none.
        A lane on a host that may delegate also gets the control socket forwarded
        there (`_acquire_socket`)."""
        await self._acquire_socket(spec)
        need = self._reverse_need(spec)
        if need is None:
            return None
        async with self._lock:
            fwd = self._reverse.get(need)
            if fwd is None:
                port = await self.link(need[0]).open_reverse(need[1])
                fwd = self._reverse[need] = _Forward(port)
            fwd.users.add(spec.lane)
            return fwd.port

    def reversed(self, spec: HarnessSpec) -> HarnessSpec:
        """`spec` with its base URL on the host's end of the open reverse forward, if any,
        and its control socket on the host's end of the socket forward — or none at all
        for a lane on a host without one (this machine's path means nothing there)."""
        from dataclasses import replace

        sock = self._socket_need(spec)
        if sock is not None:
            sfwd = self._sockets.get(sock)
            spec = replace(spec, control_socket=sfwd.path if sfwd else None,
                           lane_token=spec.lane_token if sfwd else None)
        need = self._reverse_need(spec)
        fwd = self._reverse.get(need) if need is not None else None
        if fwd is None or spec.base_url is None:
            return spec
        return replace(spec, base_url=forwarded_url(spec.base_url, fwd.port))

    # -- a remote lane's working directory ----------------------------------------------

    async def check_remote_cwd(self, lane_id: str, cwd: str) -> None:
        """Refuse (LaneError, with the reason and the fix) a lane on a host whose `cwd`
        does not exist THERE, or that would need a worktree there (`remote_cwd_problem`)."""
        host = self.host_of(lane_id)
        lane = self.cfg.lanes.get(lane_id)
        if host is None or lane is None:
            return
        problem = await remote_cwd_problem(self.link(host), lane_id, lane, cwd)
        if problem is not None:
            raise LaneError(f"{problem[0]}. Fix: {problem[1]}")

    # -- the control socket on a host: delegation from a lane there ----------------------

    def _socket_need(self, spec: HarnessSpec) -> tuple[str, str] | None:
        """(lane host, control socket here) for a lane on a host that may delegate."""
        host = self.host_of(spec.lane)
        if host is None or not spec.control_socket or not spec.lane_token:
            return None
        return host, spec.control_socket

    async def _acquire_socket(self, spec: HarnessSpec) -> None:
        """Forward the supervisor's control socket to the lane's host (shared by the
        host's lanes, closed with the last of them), so `laneboard mcp` there reaches it.
        A forward sshd refuses leaves the lane without laneboard's tools, said in the log
        — never a lane that cannot start (its own work does not need them)."""
        need = self._socket_need(spec)
        if need is None:
            return
        async with self._lock:
            fwd = self._sockets.get(need)
            if fwd is None:
                try:
                    path = await self._open_socket(*need)
                except HarnessError as e:
                    note = (f"lane {spec.lane} on host {need[0]!r} runs without laneboard's "
                            f"tools (no delegation): the control socket was not forwarded "
                            f"there: {e}")
                    log.warning("%s", note)
                    self.conductor_notes[spec.lane] = note
                    return
                fwd = self._sockets[need] = _SocketForward(path)
            fwd.users.add(spec.lane)
            self.conductor_notes.pop(spec.lane, None)

    async def _open_socket(self, host: str, local: str) -> str:
        """The host's socket path (in a 0700 `conductor` folder of laneboard's private
        state dir there, named per link: two laneboard processes never share one),
        forwarded to `local` here."""
        import hashlib

        from laneboard.harnesses.remote_host import RemoteHost
        from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
        from laneboard.harnesses.ssh_link import SshLinkError

        relay = self.for_host(host)
        assert isinstance(relay, RemoteTmuxRelay)
        link = self.link(host)
        folder = f"{await RemoteHost(relay).state_dir()}/conductor"
        rc, _out, err = await link.run(["/bin/sh", "-c", _PRIVATE_DIR, "sh", folder],
                                       timeout=30.0)
        if rc != 0:
            raise SshLinkError(f"host {host!r}: cannot make the private folder {folder}: "
                               f"{' '.join(err.split()) or rc}")
        tag = hashlib.sha256(f"{link.control_path}\0{local}".encode()).hexdigest()[:16]
        path = f"{folder}/ctl-{tag}.sock"
        if len(path.encode()) > _SUN_PATH_MAX:
            raise SshLinkError(f"host {host!r}: the socket path {path} is longer than a unix "
                               f"socket allows ({_SUN_PATH_MAX} bytes)")
        await link.open_reverse_socket(path, local)
        return path

    def socket_path(self, lane_id: str) -> str | None:
        """The host's end of the control socket forward `lane_id` uses, if open."""
        for (_host, _local), fwd in self._sockets.items():
            if lane_id in fwd.users:
                return fwd.path
        return None

    def reverse_port(self, host: str, local_port: int) -> int | None:
        """The host's port of the open reverse forward to `local_port` here, if any."""
        fwd = self._reverse.get((host, local_port))
        return fwd.port if fwd is not None else None

    async def _release_reverse(self, lane_id: str) -> None:
        for skey, sfwd in list(self._sockets.items()):
            sfwd.users.discard(lane_id)
            if sfwd.users:
                continue
            del self._sockets[skey]
            if skey[0] in self.links:
                with contextlib.suppress(HarnessError, OSError):
                    await self.links[skey[0]].close_reverse_socket(sfwd.path)
        for key, fwd in list(self._reverse.items()):
            fwd.users.discard(lane_id)
            if fwd.users:
                continue
            del self._reverse[key]
            if key[0] in self.links:
                with contextlib.suppress(HarnessError, OSError):
                    await self.links[key[0]].close_reverse(fwd.port)

    # -- the end -------------------------------------------------------------------------

    async def close(self) -> None:
        """Detach every relay and close every link and forward; lanes keep running."""
        relays: list[TmuxRelay] = [*self._remote.values()]
        if self._local is not None:
            relays.append(self._local)
        for relay in relays:
            with contextlib.suppress(Exception):
                await relay.close()
        self._forwards.clear()
        self._reverse.clear()
        self._sockets.clear()
        for link in self.links.values():
            with contextlib.suppress(Exception):
                await link.close()
