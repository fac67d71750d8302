"""The tmux relay: lanes as windows on laneboard's own tmux server.

tmux is the session store. Every lane is one window (one pane) in one session per
workspace, on a private server (`tmux -L <socket>`, config `tmux.socket`, default
`laneboard`, overridden by `$LANEBOARD_TMUX_SOCKET`), never the user's default server.
What a lane is lives in user options on its window (`@laneboard_lane`, `@laneboard_meta`,
…), so any laneboard process can `list_lanes()` and adopt what is running; lanes outlive
the cockpit with their scrollback.

Targets are always ids (`%N` panes, `@N` windows) or `=session`, never a bare name that
tmux would prefix-match (`lane` must never hit `lane2`).

Launcher, status and prompt files live in a private state directory
(`$XDG_RUNTIME_DIR/laneboard/<socket>` when that is private, else
`$TMPDIR/laneboard-<uid>/<socket>`), checked before every use: ours, 0700, no symlinks,
files created `O_EXCL | O_NOFOLLOW` 0600 (see `private_fs`). Another local user must never
be able to swap a launcher that tmux then runs as you.

A lane's command runs under `/bin/sh` from a one-shot launcher file (0600, deleted as it
starts): it exports the lane's environment (so API keys never sit on a command line or in
tmux's environment), runs the argv verbatim, and writes the exit status to a status file,
because `#{pane_dead_status}` was seen empty in tmux 3.3a. Windows keep `remain-on-exit`,
so a finished lane keeps its scrollback until `kill_lane`.

Prompts go in as a bracketed paste through a named buffer (`paste-buffer -p`), which
survives quotes, `$VARS`, backticks, unicode and 100 KB: filled by `set-buffer` commands
through the session's open control client (each byte outside plain ASCII octal-escaped,
see `tmux_control.quote_command_arg`), or, when this process has no client for the pane,
by `load-buffer` from a private temp file. The submit key is a separate step, retried
once when the caller's `verify` predicate says the prompt was not taken.
Every text that goes into a pane (pastes and literal `send-keys`) is first passed through
`paste_safe.sanitise`: ESC, the other C0 controls but tab and newline, DEL and C1 would be
read as keys (an early paste-end marker, Ctrl-C, Ctrl-D), so they are removed, with a log
note. No other module runs `send-keys`, `paste-buffer` or `load-buffer`.

Output arrives through a control-mode client per session (see `tmux_control.py`). The
commands of a send and of a status (paste, keys, screen captures, pane queries, the lane
list) go through that same client when it runs (`TmuxServer.run_for`: no process per
command, and for a remote lane no SSH session per command); every other call, and those
when no client runs, is one `tmux` process run with asyncio, so nothing blocks the loop.

Errors: `TmuxError` (a `HarnessError`) when a tmux command fails, `HarnessTimeout` when a
wait passes its deadline, `LaneWindowError` (also a `HarnessError`) when a lane window
already exists or is unknown.

The relay is a chain of layers, one module each, so each can be read alone:
`tmux_server` (socket, the `tmux` command, private state folder, sessions, pane queries)
< `tmux_capture` (control-mode streams, capture, waits) < `tmux_windows` (lane windows,
launcher, exit status) < this module (keys, pastes, delivery: `TmuxRelay`, and the
names importers use).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from laneboard.errors import HarnessError, HarnessTimeout
from laneboard.harnesses.paste_safe import REMOVED, Sanitised, sanitise
from laneboard.harnesses.private_fs import create_private_file
from laneboard.harnesses.tmux_control import ControlClient, ControlClientGone, ControlCommandError
from laneboard.harnesses.tmux_server import (
    DEFAULT_SOCKET,
    OPTION_PREFIX,
    PLACEHOLDER_WINDOW,
    SOCKET_ENV,
    Delivery,
    LaneWindow,
    LaneWindowError,
    Predicate,
    TmuxError,
    _tmux_arg,
    resolve_socket,
    safe_session_name,
)
from laneboard.harnesses.tmux_windows import TmuxWindows

log = logging.getLogger(__name__)

#: Characters of a paste per control-mode `set-buffer` line (at most 16 bytes each once
#: quoted, so a line stays under 64 KiB).
_PASTE_CHUNK = 4096

__all__ = [  # the relay's public face: importers need only this module
    "DEFAULT_SOCKET",
    "OPTION_PREFIX",
    "PLACEHOLDER_WINDOW",
    "SOCKET_ENV",
    "Delivery",
    "LaneWindow",
    "LaneWindowError",
    "Predicate",
    "TmuxError",
    "TmuxRelay",
    "resolve_socket",
    "safe_session_name",
]


class TmuxRelay(TmuxWindows):
    """laneboard's view of its tmux server. All methods are coroutines; none block the loop.

    Its constructor arguments (socket, state_dir, default_env, config_file…) are
    `TmuxServer`'s; each layer of the chain adds one concern (see the module docstring).
    """

    async def send_keys(self, pane: str, *keys: str, literal: bool = False) -> Sanitised:
        """`send-keys` to an exact pane: key names (`Enter`, `Escape`, `C-c`) or, with
        `literal`, text typed as is — sanitised first (`paste_safe`), so text can never
        carry a control key. A key name holding a control character is refused
        (HarnessError): tmux would type an unknown name as text."""
        if not literal:
            for key in keys:
                if any(c in REMOVED or c in "\t\n" for c in key):
                    raise HarnessError(
                        f"send-keys: {key!r} is not a tmux key name (it holds a control "
                        "character); send text with literal=True"
                    )
            safe = Sanitised(" ".join(keys))
        else:
            cleaned = [sanitise(k) for k in keys]
            keys = tuple(c.text for c in cleaned if c.text)
            removed: dict[str, int] = {}
            for c in cleaned:
                for name, n in c.removed.items():
                    removed[name] = removed.get(name, 0) + n
            safe = Sanitised("".join(keys), removed, sum(c.replaced for c in cleaned))
            if safe.changed:
                log.warning("keys for %s: %s", pane, safe.note)
        if keys:
            await self.run_for(
                pane, "send-keys", "-t", pane, *(["-l"] if literal else []), "--", *keys
            )
        return safe

    async def paste(
        self, pane: str, text: str | bytes, *, bracketed: bool = True, keep_newlines: bool = False
    ) -> Sanitised:
        """Paste `text` into the pane through a uniquely named buffer, deleted afterwards.

        The text is sanitised first (`paste_safe`: no ESC, no C0 controls but tab and
        newline, CR made a newline) so it arrives as text, never as keys; what was removed
        is logged and returned. `bracketed` wraps it in bracketed-paste markers when the
        program asked for them (tmux decides). tmux turns line feeds into carriage
        returns, as a terminal paste does, unless `keep_newlines`.
        """
        safe = sanitise(text)
        if safe.changed:
            log.warning("prompt for %s: %s", pane, safe.note)
        if not safe.text:
            return safe
        buffer = f"lb-{uuid.uuid4().hex[:12]}"
        flags = "-d" + ("p" if bracketed else "") + ("r" if keep_newlines else "")
        control = self._control_of(pane)
        if control is not None:
            try:
                await self._paste_through(control, pane, safe.text, buffer, flags)
                return safe
            except ControlClientGone as e:
                if e.sent:  # it may have pasted: never paste twice
                    raise TmuxError(["paste-buffer"], f"{e}; the paste may have arrived", 1) from e
        await self._paste_by_process(pane, safe.text, buffer, flags)
        return safe

    async def _paste_through(
        self, control: ControlClient, pane: str, text: str, buffer: str, flags: str
    ) -> None:
        """The paste as control-mode commands: `set-buffer` (the text quoted by
        `quote_command_arg`: line breaks, quotes, `;`, `\\`, `$` reach tmux as they are;
        over `_PASTE_CHUNK` characters in appended pieces, to keep each line short), then
        `paste-buffer -d`. A one-piece paste goes in one write: if `set-buffer` failed,
        `paste-buffer` finds no buffer and fails too. A paste in pieces is pasted only
        once every piece is in, so a failed piece never pastes a part."""
        pieces = [text[i : i + _PASTE_CHUNK] for i in range(0, len(text), _PASTE_CHUNK)]
        sets = [
            ("set-buffer", *(("-a",) if i else ()), "-b", buffer, "--", piece)
            for i, piece in enumerate(pieces)
        ]
        paste = ("paste-buffer", flags, "-b", buffer, "-t", pane)
        try:
            if len(sets) == 1:
                await control.commands([*sets, paste])
            else:
                await control.commands(sets)
                await control.commands([paste])
        except ControlCommandError as e:
            with contextlib.suppress(HarnessError):
                await control.command("delete-buffer", "-b", buffer)
            raise TmuxError(["paste-buffer"], str(e).removeprefix("tmux: "), 1) from None

    async def _paste_by_process(self, pane: str, text: str, buffer: str, flags: str) -> None:
        """The paste as one `tmux` process (no control client for the pane): the text in
        a private temp file, `load-buffer` + `paste-buffer -d` in one command. A hook: on
        another host the text travels on ssh's stdin instead (`remote_tmux`)."""
        path = create_private_file(
            self._private_dir("prompts") / f"{uuid.uuid4().hex}.txt", text.encode("utf-8")
        )
        try:
            await self.run(
                "load-buffer", "-b", buffer, _tmux_arg(str(path)),
                ";", "paste-buffer", flags, "-b", buffer, "-t", pane,
            )  # fmt: skip
        except TmuxError:
            with contextlib.suppress(TmuxError):
                await self.run("delete-buffer", "-b", buffer)
            raise
        finally:
            path.unlink(missing_ok=True)

    async def deliver(
        self,
        pane: str,
        text: str | bytes,
        *,
        submit: bool = True,
        submit_key: str = "Enter",
        submit_delay: float = 0.0,
        before_submit: Predicate | None = None,
        verify: Predicate | None = None,
        verify_timeout: float = 5.0,
        bracketed: bool = True,
    ) -> Delivery:
        """Paste `text`, then press `submit_key`, then make sure it was taken.

        Order: paste; wait for `before_submit` (if given, up to `verify_timeout`; a
        condition such as "the paste is on screen"); wait `submit_delay` more (an input
        quirk, not synchronisation: Codex reads keys that come fast after other keys as
        part of a paste and needs ~0.3 s); press the key; wait up to `verify_timeout`
        for `verify` ("the screen went busy", "the transcript grew"). If `verify` stays
        false the key is pressed ONCE more. Deliveries to one pane are serialized.
        Raises HarnessTimeout when `verify` is still false after the retry. The text is
        sanitised (see `paste`); `Delivery.chars` counts what was pasted, `note` says what
        was removed.
        """
        started = time.monotonic()
        async with self._lock(self._pane_locks, pane):
            safe = await self.paste(pane, text, bracketed=bracketed)
            n, note = len(safe.text), safe.note
            if not submit:
                return Delivery(pane, n, False, False, False, time.monotonic() - started, note)
            if before_submit is not None:
                await self.wait_until(before_submit, verify_timeout, pane=pane)
            if submit_delay > 0:
                await asyncio.sleep(submit_delay)
            await self.send_keys(pane, submit_key)
            if verify is None:
                return Delivery(pane, n, True, False, False, time.monotonic() - started, note)
            if await self.wait_until(verify, verify_timeout, pane=pane):
                return Delivery(pane, n, True, True, False, time.monotonic() - started, note)
            log.info("prompt to %s not taken; pressing %s again", pane, submit_key)
            await self.send_keys(pane, submit_key)
            if await self.wait_until(verify, verify_timeout, pane=pane):
                return Delivery(pane, n, True, True, True, time.monotonic() - started, note)
        raise HarnessTimeout(
            f"the prompt pasted into {pane} was not submitted: {submit_key} pressed twice and "
            f"the check still failed after {verify_timeout:.1f}s each; look at the pane"
        )
