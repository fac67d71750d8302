"""What a remote lane needs to know about its host, asked over the host's SSH link.

Why a module of its own: a lane with `host:` runs its program, its sandbox and its agent
CLI's state files on THAT machine. Checking `shutil.which` or `bwrap` here, or reading a
transcript from this machine's disk, answers the wrong question (the program may be
installed here and missing there). Everything in this module runs through the link's
master (`SshLink.run`): one argv, every word `shlex.quote`d by the link, and every path
or name handed to the remote shell as a positional parameter (`"$1"`), never spliced
into the script — a path with `;`, `$(…)` or quotes in it stays a path.

- `which`: `command -v` on the host, with the lane's own PATH when its env sets one;
- `check_sandbox`: bubblewrap found AND started on the host (the same argv the lane will
  run, with /bin/true inside), as `sandbox.check_sandbox` does locally;
- `read_file`: at most `limit` bytes of a file there (`head -c`), saying when it cut;
- `put_file`: a private file there (umask 077, no clobber of a symlink), stdin-fed;
- `state_dir`: laneboard's private directory there (made by the relay, 0700, checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from laneboard.errors import BinaryMissing, HarnessError
from laneboard.harnesses import sandbox
from laneboard.harnesses.remote_tmux import RemoteTmuxRelay
from laneboard.harnesses.ssh_link import SshLink

#: `command -v` of $1, with PATH=$2 when one is given (the lane's env PATH).
_WHICH = '[ -n "$2" ] && PATH=$2; command -v -- "$1"'
#: A private file at $1, its parent made private too; replaces a regular file only.
_PUT = (
    'umask 077; mkdir -p -- "${1%/*}" && [ ! -L "$1" ] && [ ! -L "${1%/*}" ] '
    '&& cat > "$1.lb-tmp" && mv -f -- "$1.lb-tmp" "$1"'
)
#: At most $2 bytes of the regular file $1 (a symlink or a device is refused).
_READ = '[ -f "$1" ] && [ ! -L "$1" ] || exit 3; head -c "$2" -- "$1"'

#: A transcript or answer file is read in pieces of at most this many bytes.
READ_LIMIT = 4 * 1024 * 1024


class RemoteFileError(HarnessError):
    """A file on the host could not be read or written; the message names host and path."""


@dataclass(frozen=True)
class RemoteRead:
    text: str
    truncated: bool


class RemoteHost:
    """The host of one remote lane, through its relay (state dir) and link (commands)."""

    def __init__(self, relay: RemoteTmuxRelay) -> None:
        self.relay = relay
        self.link: SshLink = relay.link
        self.name = relay.host

    async def state_dir(self) -> str:
        """laneboard's private directory on the host (created 0700 and checked once)."""
        await self.relay._prepare()
        return str(self.relay.state_dir)

    async def which(self, program: str, env: Mapping[str, str], *, what: str,
                    install_hint: str) -> str:
        """The program's path on the host's PATH (the lane's env PATH when set), or
        BinaryMissing naming the host — never this machine's answer."""
        rc, out, err = await self.link.run(
            ["/bin/sh", "-c", _WHICH, "sh", program, env.get("PATH", "")], timeout=30.0
        )
        path = out.strip().splitlines()[0] if out.strip() else ""
        if rc != 0 or not path.startswith("/"):
            raise BinaryMissing(
                f"{what}: the `{program}` program was not found on host {self.name!r}'s PATH"
                f"{' (the lane env PATH)' if env.get('PATH') else ''}; install it there with "
                f"`{install_hint}`, or set the lane's env PATH to where it is on that host"
                + (f" ({' '.join(err.split())})" if err.strip() else "")
            )
        return path

    async def version(self, path: str) -> str:
        """The first line `path --version` prints on the host ("" when it says nothing)."""
        _rc, out, _err = await self.link.run([path, "--version"], timeout=30.0)
        lines = out.strip().splitlines()
        return lines[0] if lines else ""

    async def check_sandbox(self, fence: str, cwd: str, *, lane: str) -> str | None:
        """The host's bwrap path for a fenced lane, after starting a sandbox THERE with
        the lane's own sandbox argv; None for `full`. SandboxUnavailable otherwise."""
        if not sandbox.sandboxed(fence):
            return None
        try:
            bwrap = await self.which("bwrap", {}, what=f"lane {lane!r}",
                                     install_hint="apt-get install bubblewrap")
        except BinaryMissing as exc:
            raise sandbox.SandboxUnavailable(
                f"lane {lane!r}: fence {fence!r} needs the bubblewrap sandbox, and `bwrap` is "
                f"not installed on host {self.name!r}; {sandbox.INSTALL_HINT} there (or give "
                "the lane `fence: full`). laneboard will not run a fenced lane unsandboxed"
            ) from exc
        probe = sandbox.sandbox_argv(fence, cwd, ["/bin/true"], bwrap=bwrap)
        rc, out, err = await self.link.run(probe, timeout=30.0)
        if rc != 0:
            why = (err or out).strip().splitlines()
            raise sandbox.SandboxUnavailable(
                f"lane {lane!r}: the bubblewrap sandbox did not start on host {self.name!r} "
                f"({why[-1] if why else f'exit {rc}'}); laneboard will not run a fenced lane "
                "unsandboxed"
            )
        return bwrap

    async def read_file(self, path: str, *, limit: int = READ_LIMIT) -> RemoteRead | None:
        """At most `limit` bytes of the regular file `path` on the host; None when it is
        not there (or not a regular file)."""
        rc, out, err = await self.link.run(
            ["/bin/sh", "-c", _READ, "sh", path, str(limit + 1)], timeout=60.0
        )
        if rc == 3:
            return None
        if rc != 0:
            raise RemoteFileError(
                f"host {self.name!r}: cannot read {path}: {' '.join(err.split()) or rc}"
            )
        data = out.encode("utf-8", "surrogateescape")
        if len(data) > limit:
            return RemoteRead(data[:limit].decode("utf-8", "replace"), True)
        return RemoteRead(out, False)

    async def put_file(self, path: str, data: bytes) -> None:
        """Write a private file on the host (atomic: a temp file moved into place)."""
        rc, _out, err = await self.link.run(["/bin/sh", "-c", _PUT, "sh", path], input=data)
        if rc != 0:
            raise RemoteFileError(
                f"host {self.name!r}: cannot write {path}: {' '.join(err.split()) or rc}"
            )

    async def make_dir(self, path: str) -> None:
        """A private directory on the host (mkdir -p under umask 077; not a symlink)."""
        rc, _out, err = await self.link.run(
            ["/bin/sh", "-c", 'umask 077; mkdir -p -- "$1" && [ ! -L "$1" ]', "sh", path],
            timeout=30.0,
        )
        if rc != 0:
            raise RemoteFileError(
                f"host {self.name!r}: cannot make {path}: {' '.join(err.split()) or rc}"
            )

    async def remove_file(self, path: str) -> None:
        """Remove one file laneboard wrote there (never a directory, never recursive)."""
        await self.link.run(["rm", "-f", "--", path], timeout=30.0)


def remote_host_of(relay: object) -> RemoteHost | None:
    """The RemoteHost of a harness's relay, or None for a lane that runs here."""
    return RemoteHost(relay) if isinstance(relay, RemoteTmuxRelay) else None
