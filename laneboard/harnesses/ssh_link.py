"""One persistent SSH connection per remote host: OpenSSH's own ControlMaster.

Why OpenSSH and not a library or an agent of our own: every user already has it, with
their config, their agent and their known_hosts; laneboard installs nothing on the remote
host and never holds a key. One master per host (`ssh -M -N -S <control path>`) carries
every tmux command, the control-mode stream of each session and the port forwards to a
remote model server, so a busy cockpit opens one TCP connection, not one per command.

The control path lives in laneboard's private runtime dir (`private_fs`, 0700, checked):
whoever can reach that socket can run commands as you on the remote host.

Host keys: always `StrictHostKeyChecking=yes` and `BatchMode=yes` — an unknown or changed
key is refused and nothing runs; `HostKeyUnknown` says how to add the key (a first
`ssh user@host` by hand, or `ssh-keyscan` checked against the host's fingerprint).

Remote commands are argv lists. ssh sends its command as ONE string that the remote
login shell parses, so every argument is quoted with `shlex.quote` (`remote_command`):
`; touch x`, `$(…)` and backticks arrive as text, never as code.

Reverse forwards (`open_reverse`): a lane on the host points its CLI at laneboard's model
gateway, which listens on THIS machine's 127.0.0.1. `ssh -O forward -R 127.0.0.1:0:…`
has the host's sshd listen on the host's loopback only (never a network address: that
needs `GatewayPorts`, which we never ask for) on a port it picks, carrying connections
back here. The remote port is kept across a reconnect (the new master asks for the same
one), so a re-adopted lane's base URL stays right.

Reverse socket forwards (`open_reverse_socket`): the conductor's control socket is a
unix socket here; a lane on the host that may delegate reaches it through `ssh -O forward
-R HOST_PATH:LOCAL_PATH` — a socket file on the host (0600 by sshd's StreamLocalBindMask,
in a private folder the caller chose), never a TCP port another user there could reach.
sshd keeps a dead master's socket file (StreamLocalBindUnlink is off by default), so ours
is removed before each forward, and the forwards are asked again after a reconnect.

Reconnect: a dropped link (network, sshd restart, a killed master) is noticed by the
next `ensure()`, which starts a new master with exponential backoff (0.25 s doubling, at
most 4 s, within `connect_timeout`). The remote tmux server never depended on the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shlex
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from laneboard.errors import HarnessError
from laneboard.harnesses.private_fs import ensure_private_dir, runtime_root

log = logging.getLogger(__name__)

_KEY_TROUBLE = (
    "Host key verification failed",
    "No ED25519 host key is known",
    "No RSA host key is known",
    "No ECDSA host key is known",
    "host key is known",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
)


class SshLinkError(HarnessError):
    """The SSH link to a host cannot be made or used; the message says what ssh said."""


class HostKeyUnknown(SshLinkError):
    """The host's key is not in known_hosts (or changed): refused, nothing ran."""


@dataclass(frozen=True)
class SshTarget:
    """How to reach one `hosts:` entry. `known_hosts` and `ssh_config` default to the
    user's own (None); tests point them at files they wrote."""

    name: str
    destination: str
    port: int | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    ssh_config: str | None = None
    extra_options: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.destination + (f":{self.port}" if self.port else "")

    def options(self) -> list[str]:
        """The ssh options every invocation carries (never a key, never auto-accept)."""
        opts = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        if self.ssh_config:
            opts = ["-F", self.ssh_config, *opts]
        if self.known_hosts:
            opts += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.port:
            opts += ["-p", str(self.port)]
        if self.identity_file:
            opts += ["-i", self.identity_file, "-o", "IdentitiesOnly=yes"]
        for key, value in self.extra_options.items():
            opts += ["-o", f"{key}={value}"]
        return opts

    def add_key_hint(self) -> str:
        host = self.destination.rsplit("@", 1)[-1]
        port = f"-p {self.port} " if self.port else ""
        kh = self.known_hosts or "~/.ssh/known_hosts"
        return (
            f"connect once by hand and check the fingerprint: ssh {port}{self.destination}\n"
            f"  or: ssh-keyscan {port}{host} >> {kh}  (compare the key with the host's own "
            "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` first)"
        )


def remote_command(argv: Sequence[str]) -> str:
    """`argv` as the one string ssh hands to the remote shell, every word quoted."""
    if not argv:
        raise ValueError("no remote command")
    return " ".join(shlex.quote(a) for a in argv)


class SshLink:
    """The persistent connection to one host (see the module docstring)."""

    def __init__(
        self,
        target: SshTarget,
        *,
        ssh: str = "ssh",
        control_dir: Path | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.target = target
        self.ssh = ssh
        self.connect_timeout = connect_timeout
        if control_dir is None:
            root, _why = runtime_root()
            control_dir = ensure_private_dir(root / "ssh", root)
        else:
            control_dir = ensure_private_dir(control_dir)
        # per process too: a second laneboard process (`lanes status`) starts its own
        # master and must not unlink the cockpit's control socket as a stale one
        digest = hashlib.sha256(
            f"{target.name}\0{target.destination}\0{target.port}\0{os.getpid()}".encode()
        ).hexdigest()[:16]
        # short: a unix socket path is limited to ~104 bytes
        self.control_path = control_dir / f"c-{digest}"
        self.reconnects = 0
        self._master: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self._forwards: dict[int, str] = {}
        self._reverse: dict[int, str] = {}  # remote port -> -R spec, re-asked after a reconnect
        self._reverse_sockets: dict[str, str] = {}  # host socket path -> local socket here

    # -- argv --------------------------------------------------------------------------

    def client_argv(self, *, tty: bool = False) -> list[str]:
        """`ssh … destination`: through the master when it runs; ready for a command."""
        argv = [self.ssh, "-S", str(self.control_path), "-o", "ControlMaster=no"]
        argv += self.target.options()
        if tty:
            argv.append("-t")
        return [*argv, "--", self.target.destination]

    def argv_for(self, argv: Sequence[str], *, tty: bool = False) -> list[str]:
        """The local argv that runs `argv` on the host (quoted for its shell)."""
        return [*self.client_argv(tty=tty), remote_command(argv)]

    # -- the master --------------------------------------------------------------------

    @property
    def master_pid(self) -> int | None:
        proc = self._master
        return proc.pid if proc is not None and proc.returncode is None else None

    def up(self) -> bool:
        """The master process runs and its control socket is there (no process forked:
        this is asked before every remote command)."""
        proc = self._master
        return proc is not None and proc.returncode is None and self.control_path.exists()

    async def alive(self) -> bool:
        """The master runs and answers on its control socket (`ssh -O check`)."""
        if not self.up():
            return False
        rc, _out, _err = await self._exec(
            [self.ssh, "-S", str(self.control_path), "-O", "check", "--",
             self.target.destination], timeout=5.0,
        )  # fmt: skip
        return rc == 0

    async def ensure(self) -> None:
        """Make sure the master runs; (re)connect with backoff if it does not.

        Raises HostKeyUnknown at once (retrying cannot help), SshLinkError when the host
        stays unreachable past `connect_timeout`."""
        if self.up():
            return
        async with self._lock:
            if await self.alive():
                return
            had_master = self._master is not None
            await self._drop_master()
            deadline = time.monotonic() + self.connect_timeout
            delay = 0.25
            last = ""
            while True:
                try:
                    await self._start_master(max(1.0, deadline - time.monotonic()))
                except HostKeyUnknown:
                    raise
                except SshLinkError as exc:
                    last = str(exc)
                else:
                    if had_master:
                        self.reconnects += 1
                    # by what is recorded, not by `had_master`: a round that dropped the
                    # dead master and then failed leaves none, and the next round's new
                    # master must still carry the forwards (no-ops on a first connect)
                    await self._reopen_reverse()
                    await self._reopen_reverse_sockets()
                    return
                if time.monotonic() + delay > deadline:
                    raise SshLinkError(
                        f"cannot reach host {self.target.name!r} ({self.target.label}) "
                        f"within {self.connect_timeout:.0f}s: {last}"
                    )
                await asyncio.sleep(delay)  # backoff between attempts, not a sync point
                delay = min(delay * 2, 4.0)

    async def _start_master(self, timeout: float) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.control_path.unlink()  # a stale socket of ours from a killed master
        argv = [
            self.ssh, "-M", "-N", "-S", str(self.control_path),
            "-o", "ControlPersist=no", "-o", "ExitOnForwardFailure=yes",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
            "-o", f"ConnectTimeout={max(1, int(timeout))}",
            *self.target.options(), "--", self.target.destination,
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
            start_new_session=True,  # a Ctrl-C in the cockpit's terminal must not drop it
        )
        try:
            deadline = time.monotonic() + timeout
            interval = 0.02
            while True:
                if proc.returncode is not None:
                    err = b""
                    if proc.stderr is not None:
                        err = await proc.stderr.read()
                    await proc.wait()
                    raise self._error(err.decode("utf-8", "replace"))
                if self.control_path.exists():
                    self._master = proc
                    if await self.alive():
                        return
                    self._master = None
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                    raise SshLinkError(f"ssh to {self.target.label} did not connect in time")
                await asyncio.sleep(interval)  # polling the control socket with a deadline
                interval = min(interval * 1.5, 0.2)
        except asyncio.CancelledError:
            # cancelled mid-connect (a cockpit closing while a lane waited for its link):
            # never leave a master behind that nobody owns
            if self._master is proc:
                self._master = None
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise

    def _error(self, stderr: str) -> SshLinkError:
        text = " ".join(stderr.split()) or "ssh exited without a message"
        if any(k in stderr for k in _KEY_TROUBLE):
            return HostKeyUnknown(
                f"refusing host {self.target.name!r} ({self.target.label}): its SSH host key "
                f"is not known (or changed); laneboard never accepts a key by itself. "
                f"ssh said: {text}\n  fix: {self.target.add_key_hint()}"
            )
        return SshLinkError(f"ssh to {self.target.name!r} ({self.target.label}) failed: {text}")

    async def _drop_master(self) -> None:
        proc, self._master = self._master, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._forwards.clear()

    async def close(self) -> None:
        """Close every forward and the master; remote tmux (and its lanes) keep running."""
        async with self._lock:
            for port in list(self._forwards):
                await self._cancel_forward(port)
            for rport in list(self._reverse):
                await self._cancel_reverse(rport)
            for rpath in list(self._reverse_sockets):
                await self._cancel_reverse_socket(rpath)
            if self._master is not None and self._master.returncode is None:
                await self._exec(
                    [self.ssh, "-S", str(self.control_path), "-O", "exit", "--",
                     self.target.destination], timeout=5.0,
                )  # fmt: skip
            await self._drop_master()
            with contextlib.suppress(FileNotFoundError):
                self.control_path.unlink()

    # -- commands and forwards -----------------------------------------------------------

    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 30.0
    ) -> tuple[int, str, str]:
        """Run `argv` on the host through the master; (returncode, stdout, stderr)."""
        await self.ensure()
        return await self._exec(self.argv_for(argv), input=input, timeout=timeout)

    async def _exec(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 30.0
    ) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(input), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return 255, "", f"timed out after {timeout:.0f}s"
        return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    async def open_forward(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        """Forward a free 127.0.0.1 port here to `remote_host:remote_port` as seen from the
        host (its loopback by default); returns the local port. Closed by `close_forward`
        or `close`."""
        await self.ensure()
        async with self._lock:
            local = _free_port()
            spec = f"127.0.0.1:{local}:{remote_host}:{remote_port}"
            rc, _out, err = await self._exec(
                [self.ssh, "-S", str(self.control_path), "-O", "forward", "-L", spec, "--",
                 self.target.destination], timeout=10.0,
            )  # fmt: skip
            if rc != 0:
                raise SshLinkError(
                    f"cannot forward to {remote_host}:{remote_port} on {self.target.name!r}: "
                    f"{' '.join(err.split()) or 'ssh refused'}"
                )
            self._forwards[local] = spec
            return local

    async def close_forward(self, local_port: int) -> None:
        async with self._lock:
            await self._cancel_forward(local_port)

    async def _cancel_forward(self, local_port: int) -> None:
        spec = self._forwards.pop(local_port, None)
        if spec is not None:
            await self._exec(
                [self.ssh, "-S", str(self.control_path), "-O", "cancel", "-L", spec, "--",
                 self.target.destination], timeout=5.0,
            )  # fmt: skip


    # -- reverse forwards: the host's loopback to a port here ----------------------------

    async def open_reverse(self, local_port: int) -> int:
        """Have the host listen on ITS 127.0.0.1 (a port sshd picks) and carry each
        connection to 127.0.0.1:`local_port` here; returns the host's port. Closed by
        `close_reverse` or `close`; asked again with the same port after a reconnect."""
        if not 0 < local_port < 65536:
            raise SshLinkError(f"not a port: {local_port!r}")
        await self.ensure()
        async with self._lock:
            return await self._forward_reverse(f"127.0.0.1:0:127.0.0.1:{local_port}")

    async def _forward_reverse(self, spec: str) -> int:
        rc, out, err = await self._exec(
            [self.ssh, "-S", str(self.control_path), "-O", "forward", "-R", spec, "--",
             self.target.destination], timeout=10.0,
        )  # fmt: skip
        _bind, rport, rest = spec.split(":", 2)
        if rc != 0 or "failed" in err:  # the mux client may say so and still exit 0
            raise SshLinkError(
                f"cannot open a reverse forward on {self.target.name!r} (its loopback to "
                f"{rest} here): {' '.join(err.split()) or 'ssh refused'}; the host's sshd "
                "must allow TCP forwarding (AllowTcpForwarding yes or remote)"
            )
        if rport == "0":  # ssh prints the port the server allocated
            words = out.split()
            if not words or not words[0].isdigit():
                raise SshLinkError(f"ssh did not say which port {self.target.name!r} opened")
            rport = words[0]
        # kept AS ASKED: the master matches a cancel against the spec it was given (a
        # `0` port stays `0`; the allocated port in a cancel is "port not forwarded")
        self._reverse[int(rport)] = spec
        return int(rport)

    async def _reopen_reverse(self) -> None:
        """After a reconnect the old master's listeners are gone: ask for the same ports
        (pinned now, so a re-adopted lane's base URL stays right)."""
        for rport, spec in list(self._reverse.items()):
            del self._reverse[rport]
            bind, _asked, rest = spec.split(":", 2)
            pinned = f"{bind}:{rport}:{rest}"
            delay = 0.25
            while True:
                try:
                    await self._forward_reverse(pinned)
                    break
                except SshLinkError as exc:
                    if delay > 4.0:  # said, not fatal: the lane's next turn will say more
                        self._reverse[rport] = pinned
                        log.warning("host %s: reverse forward %s not re-opened: %s",
                                    self.target.name, pinned, exc)
                        break
                # the dropped session's sshd may still hold the port for a moment
                await asyncio.sleep(delay)  # backoff between attempts, not a sync point
                delay *= 2

    def reverse_ports(self) -> dict[int, int]:
        """{host port: local port} of the open reverse forwards."""
        return {r: int(spec.rsplit(":", 1)[1]) for r, spec in self._reverse.items()}

    async def close_reverse(self, remote_port: int) -> None:
        async with self._lock:
            await self._cancel_reverse(remote_port)

    async def _cancel_reverse(self, remote_port: int) -> None:
        spec = self._reverse.pop(remote_port, None)
        if spec is not None and self.up():
            rc, _out, err = await self._exec(
                [self.ssh, "-S", str(self.control_path), "-O", "cancel", "-R", spec, "--",
                 self.target.destination], timeout=5.0,
            )  # fmt: skip
            if rc != 0 or "failed" in err:
                log.warning("host %s: reverse forward %s not cancelled: %s",
                            self.target.name, spec, " ".join(err.split()))

    # -- reverse socket forwards: a unix socket on the host to a unix socket here --------

    async def open_reverse_socket(self, remote_path: str, local_socket: str) -> None:
        """Have the host's sshd listen on the unix socket `remote_path` THERE and carry
        each connection to `local_socket` here (`ssh -O forward -R REMOTE:LOCAL`).

        Why a unix socket and not a port: a TCP port on the host's loopback is open to
        every user of that host; a socket file is not — sshd creates it under its
        `StreamLocalBindMask` (0177 by default: 0600), and the caller puts it in a 0700
        directory of laneboard's. sshd must allow it (`AllowStreamLocalForwarding`, yes
        by default). sshd does not replace an existing file unless its
        `StreamLocalBindUnlink` is on (off by default), so a stale socket of ours — a
        master that died, a reconnect — is removed first (only a socket, only that path).
        Closed by `close_reverse_socket` or `close`; asked again after a reconnect."""
        for path in (remote_path, local_socket):
            if ":" in path or not path.startswith("/"):
                raise SshLinkError(f"cannot forward the unix socket {path!r}: not an absolute "
                                   "path without ':'")
        await self.ensure()
        async with self._lock:
            await self._forward_socket(remote_path, local_socket)

    async def _forward_socket(self, remote_path: str, local_socket: str) -> None:
        await self._exec(self.argv_for(["/bin/sh", "-c", _RM_STALE_SOCKET, "sh", remote_path]),
                         timeout=10.0)
        spec = f"{remote_path}:{local_socket}"
        rc, _out, err = await self._exec(
            [self.ssh, "-S", str(self.control_path), "-O", "forward", "-R", spec, "--",
             self.target.destination], timeout=10.0,
        )  # fmt: skip
        if rc != 0 or "failed" in err:  # the mux client may say so and still exit 0
            raise SshLinkError(
                f"cannot forward the unix socket {remote_path} on {self.target.name!r} to "
                f"{local_socket} here: {' '.join(err.split()) or 'ssh refused'}; the host's "
                "sshd must allow it (AllowStreamLocalForwarding yes, the default)"
            )
        self._reverse_sockets[remote_path] = local_socket

    async def _reopen_reverse_sockets(self) -> None:
        """After a reconnect: the dead master's sockets are stale files on the host."""
        for rpath, local in list(self._reverse_sockets.items()):
            del self._reverse_sockets[rpath]
            try:
                await self._forward_socket(rpath, local)
            except SshLinkError as exc:  # said, not fatal: the lane's tools say more
                self._reverse_sockets[rpath] = local
                log.warning("host %s: socket forward %s not re-opened: %s",
                            self.target.name, rpath, exc)

    def reverse_sockets(self) -> dict[str, str]:
        """{host socket path: local socket} of the open reverse socket forwards."""
        return dict(self._reverse_sockets)

    async def close_reverse_socket(self, remote_path: str) -> None:
        async with self._lock:
            await self._cancel_reverse_socket(remote_path)

    async def _cancel_reverse_socket(self, remote_path: str) -> None:
        local = self._reverse_sockets.pop(remote_path, None)
        if local is None or not self.up():
            return
        spec = f"{remote_path}:{local}"
        rc, _out, err = await self._exec(
            [self.ssh, "-S", str(self.control_path), "-O", "cancel", "-R", spec, "--",
             self.target.destination], timeout=5.0,
        )  # fmt: skip
        if rc != 0 or "failed" in err:
            log.warning("host %s: socket forward %s not cancelled: %s",
                        self.target.name, remote_path, " ".join(err.split()))
        # sshd leaves the socket file behind: remove it (ours, a socket, that path only)
        await self._exec(self.argv_for(["/bin/sh", "-c", _RM_STALE_SOCKET, "sh", remote_path]),
                         timeout=10.0)


#: Remove $1 on the host when it is a socket (never a regular file, a link or a folder).
_RM_STALE_SOCKET = '[ -S "$1" ] && [ ! -L "$1" ] && rm -f -- "$1"; exit 0'


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
