"""The tmux relay for lanes on another machine: the same `TmuxRelay`, over one SSH link.

Why a subclass and not a second relay: everything a lane needs (windows, metadata in
window options, control-mode streams, captures, pastes, exit status) is tmux commands,
and tmux runs the same on the remote host. Only the places where the local relay touches
the local machine change, each a hook of the lower layers:

- `command_line`: every tmux argv becomes `ssh -S <control path> … host -- <quoted argv>`
  (`SshLink.argv_for`: each word `shlex.quote`d for the remote shell, so no lane command,
  session name or prompt is ever parsed there as code). The control-mode client uses the
  same hook, so output is pushed over the channel as it is locally.
- launcher and status files are written, read and removed on the remote host, in a
  private directory there (`remote_state_dir`, default `~/.cache/laneboard/run/<socket>`,
  created 0700 and checked ours and not a symlink before use).
- the commands of a send and a status (paste, keys, captures, pane queries) go through the
  control client's channel when it runs (`TmuxServer.run_for`): one round trip each, not
  an SSH session each; without it a paste goes in through `load-buffer -` on stdin (no
  prompt file on either machine).

A dropped link loses nothing: the lanes live in the remote tmux server. The control
client's stream closes with the link; the next call re-opens the link (`SshLink.ensure`,
with backoff), attaches a fresh control client, and `capture` still has the scrollback.
A control client that ends while the link is up (its tmux process killed, out of step)
is replaced over the same link and its streams carry on (`TmuxCapture._revive`); the
relay never reconnects a link for that (`_transport_up`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path

from laneboard.errors import HarnessError
from laneboard.harnesses.paste_safe import sanitise
from laneboard.harnesses.private_fs import socket_tag
from laneboard.harnesses.ssh_link import SshLink, SshLinkError
from laneboard.harnesses.tmux import TmuxError, TmuxRelay, safe_session_name
from laneboard.harnesses.tmux_control import ControlClient

log = logging.getLogger(__name__)

_PREPARE = (
    'umask 077; d=$1; case $d in /*) ;; *) d=$HOME/$d ;; esac; '
    'mkdir -p -- "$d" && chmod 700 -- "$d" && [ ! -L "$d" ] && [ -O "$d" ] '
    '&& cd -- "$d" && pwd -P'
)
_PUT = 'umask 077; mkdir -p -- "${1%/*}" && set -C && cat > "$1"'


class RemoteTmuxRelay(TmuxRelay):
    """laneboard's tmux server on a `hosts:` entry, driven through `link`.

    `socket` is a tmux socket NAME on that host (`-L`; a path there is refused: it could
    not be checked from here). The link is the caller's: one per host, shared by the
    relay and the host's port forwards; `close()` detaches, the link stays up.
    """

    def __init__(
        self,
        link: SshLink,
        socket: str | None = None,
        *,
        remote_state_dir: str | None = None,
        default_env: Mapping[str, str] | None = None,
        tmux: str = "tmux",
        config_file: str | None = "/dev/null",
        history_limit: int = 50_000,
        buffer_limit: int = 4_000_000,
        pause_after: int | None = None,
    ) -> None:
        if socket is not None and "/" in socket:
            raise SshLinkError(
                f"a remote lane's tmux socket must be a name, not a path ({socket!r})"
            )
        super().__init__(
            socket or "laneboard",
            state_dir="/nonexistent-until-prepared",
            default_env=default_env,
            tmux=tmux,
            config_file=config_file,
            history_limit=history_limit,
            buffer_limit=buffer_limit,
            pause_after=pause_after,
        )
        if "/" in self.socket:  # $LANEBOARD_TMUX_SOCKET may be a local path
            self.socket = "laneboard"
            self.tmux_argv = [tmux, "-L", self.socket] + (["-f", config_file] if config_file else [])
        # -u: an ssh session often has no UTF-8 locale, and tmux then prints a tab in a
        # `-F` format as `_`, which breaks every tab-separated answer the layers parse
        self.tmux_argv.insert(1, "-u")
        self.link = link
        self.host = link.target.name
        self._wanted_state = remote_state_dir or f".cache/laneboard/run/{socket_tag(self.socket)}"
        self._prepared = False

    # -- the transport hooks ------------------------------------------------------------

    def command_line(self, *args: str) -> list[str]:
        return self.link.argv_for([*self.tmux_argv, *args])

    async def run(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        await self._prepare()
        return await super().run(*args, check=check, input=input)

    async def _control_for(self, session: str) -> ControlClient:
        await self._prepare()
        return await super()._control_for(session)

    async def _transport_up(self) -> bool:
        # a control client that ended with the link is not revived here (no reconnect
        # from the relay): the supervisor's `_follow_link` waits for the link and re-adopts
        return await self.link.alive()

    async def _prepare(self) -> None:
        """The link is up and the remote private state directory exists (once per relay;
        the link re-checks itself on every call)."""
        await self.link.ensure()
        if self._prepared:
            return
        rc, out, err = await self.link.run(["/bin/sh", "-c", _PREPARE, "sh", self._wanted_state])
        path = out.strip()
        if rc != 0 or not path.startswith("/"):
            raise SshLinkError(
                f"host {self.host!r}: cannot make the private state directory "
                f"{self._wanted_state!r} there: {' '.join(err.split()) or 'not ours or a symlink'}"
            )
        self.state_dir = self._private_root = Path(path)
        self._prepared = True

    def _private_dir(self, *parts: str) -> Path:
        # created remotely by `_put_private_file` (mkdir -p under umask 077)
        return self.state_dir.joinpath(*parts)

    async def _put_private_file(self, path: Path, data: bytes) -> None:
        rc, _out, err = await self.link.run(["/bin/sh", "-c", _PUT, "sh", str(path)], input=data)
        if rc != 0:
            raise SshLinkError(
                f"host {self.host!r}: cannot write {path}: {' '.join(err.split()) or rc}"
            )

    async def _remove_file(self, path: Path) -> None:
        await self.link.run(["rm", "-f", "--", str(path)])

    async def _read_small_file(self, path: Path) -> str | None:
        rc, out, _err = await self.link.run(["cat", "--", str(path)])
        return out if rc == 0 else None

    async def _paste_by_process(self, pane: str, text: str, buffer: str, flags: str) -> None:
        """As `TmuxRelay._paste_by_process`, but the text travels on ssh's stdin
        (`load-buffer -`): no prompt file on either machine. Only used while no control
        client runs for the pane (`TmuxRelay.paste` goes through it when one does). The
        text is already sanitised by `paste`; checked again, as this hook writes into a
        pane on its own."""
        if sanitise(text).text != text:
            raise HarnessError(f"paste into {pane}: the text is not sanitised (a caller's bug)")
        try:
            await self.run(
                "load-buffer", "-b", buffer, "-",
                ";", "paste-buffer", flags, "-b", buffer, "-t", pane,
                input=text.encode("utf-8"),
            )  # fmt: skip
        except TmuxError:
            with contextlib.suppress(TmuxError):
                await self.run("delete-buffer", "-b", buffer)
            raise

    # -- the person at the keyboard -----------------------------------------------------

    def attach_argv(self, session: str, lane: str) -> list[str]:
        """`ssh -t … tmux attach` onto the lane's window (ctrl+o in the cockpit)."""
        name = safe_session_name(session)
        return self.link.argv_for(
            [*self.tmux_argv, "select-window", "-t", f"={name}:={lane}", ";",
             "attach-session", "-t", f"={name}"],
            tty=True,
        )  # fmt: skip
