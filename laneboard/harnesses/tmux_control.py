"""A tmux control-mode client: one long-lived `tmux -C attach` per session.

Why control mode: tmux pushes every byte a pane writes as a `%output %pane data` line the
moment it reads it from the pty, so a reader sees output with no polling delay and none
lost (polling `capture-pane` misses whatever scrolled between two polls and forks a
process per poll). One client streams every pane of every window in its session.

Protocol (tmux 3.3a, `man tmux` CONTROL MODE): every command written to stdin answers with
one `%begin … %end|%error` block; notifications (`%output`, `%window-add`, `%exit`,
`%subscription-changed`, …) never occur inside a block. `%output` escapes bytes below
0x20 and the backslash as `\\ooo` octal; other bytes, UTF-8 included, are sent raw.
Commands sent before the attach completes run without a client, so `start` waits for
`%session-changed` before writing anything.

Flow control: the reader task only appends to per-pane buffers and wakes waiters; it
never awaits a subscriber, so a slow consumer cannot stall it, and tmux never has to
buffer (in tmux 3.3a a control client more than five minutes behind is disconnected).
Each pane keeps a bounded window of recent text; a subscriber that falls further behind
skips ahead (and the skip is counted). `pause-after` (3.3a: `attach -f pause-after=N`)
is optional; when tmux pauses a pane we resume it at once and count the lost output.
Pane death arrives through a 3.3a format subscription (`refresh-client -B`), which tmux
re-evaluates about once a second.

Pane text is data, never protocol: tmux 3.3a writes a command's output lines to a control
client UNESCAPED, so a captured screen travels as raw lines inside its `%begin … %end`
block, and a pane can print a line that looks like the block's `%end` (its tag is
guessable: seconds and a counter). So no command whose output can hold pane text goes
through the client unless the number of its output lines is known before the answer
starts (`tmux_control_route`): a screen capture is written as ONE command line
`display-message -p -t %N '#{pane_id} #{pane_height}' ; capture-pane -p -t %N`, which
tmux runs back to back (no pty read, no resize in between) and answers with two blocks;
the reader then takes exactly that many lines of the second block as data, whatever they
hold, and requires the block's own `%end`/`%error` right after. Anything else means the
client is out of step: it is closed and the answer discarded (`_break`); callers fall
back to tmux processes while the relay attaches a successor (`TmuxCapture._revive`). Every other
command whose output could hold pane text (a joined or scrollback capture, buffers,
formats naming pane-controlled values) is refused here and runs as a tmux process.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from laneboard.errors import HarnessError, HarnessTimeout
from laneboard.harnesses.tmux_control_route import COUNT_FORMAT, route, screen_target

log = logging.getLogger(__name__)

_OCTAL = {f"{i:03o}".encode(): bytes([i]) for i in range(256)}
_DEAD_SUB = "lb-dead"
_JOIN = 4096
"""Characters up to which output pieces are joined into one retained chunk (at most a
16th of a stream's limit, so the limit still bounds what is kept; `PaneStream._append`)."""


def unescape_output(data: bytes) -> bytes:
    r"""Decode the value of a `%output` line: `\ooo` octal escapes back to bytes."""
    if b"\\" not in data:
        return data
    parts = data.split(b"\\")
    out = [parts[0]]
    for part in parts[1:]:
        code = _OCTAL.get(part[:3])
        if code is None:  # not an escape tmux writes; keep it verbatim
            out.append(b"\\" + part)
        else:
            out.append(code)
            out.append(part[3:])
    return b"".join(out)


#: Bytes a quoted control-mode argument may carry as they are; every other byte is
#: written as a `\\ooo` octal escape inside double quotes (see `quote_command_arg`).
_PLAIN = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.-_/:=+@%^&*()[]<>?!|"
)
_ESCAPED = {b: chr(b) if b in _PLAIN else f"\\{b:03o}" for b in range(256)}


def quote_command_arg(arg: str) -> str:
    """Quote one argument for a tmux command line written to a control client, so tmux's
    parser gives back exactly `arg`.

    Why two forms: a control-mode command is one line, so an argument holding a line
    break (a pasted prompt) cannot travel inside single quotes. An argument of plain
    printable ASCII without a line break goes in single quotes (no escapes there); any
    other goes in double quotes with every byte outside `_PLAIN` (quotes, `\\`, `$`,
    `~`, `;`, `#`, braces, controls, every UTF-8 byte) as a `\\ooo` octal escape,
    which tmux 3.3a's parser turns back into that byte: no variable or tilde expansion,
    no command separator, no line end (tests/test_tmux_control_path.py). NUL is refused
    (ValueError): tmux's arguments are C strings and would end there; text meant for a
    pane never holds one (`paste_safe` removes it).
    """
    if "\x00" in arg:
        raise ValueError("a tmux command argument cannot hold NUL")
    if arg.isascii() and arg.isprintable():
        return "'" + arg.replace("'", "'\\''") + "'"
    return '"' + "".join(_ESCAPED[b] for b in arg.encode("utf-8", "surrogatepass")) + '"'


class ControlCommandError(HarnessError):
    """tmux answered a control-mode command with `%error` (the command ran and failed)."""


class ControlClientGone(HarnessError):
    """The control client is not running, or ended before tmux answered. `sent` says
    whether the command had been written (it may then have run)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class ControlPathRefused(ControlClientGone):
    """The command's output could hold pane text in an amount not known beforehand, so it
    must not travel through the control client (see the module docstring); nothing was
    written. A ControlClientGone with `sent=False`, so `run_for` runs it as a tmux
    process instead."""

    def __init__(self, args: Sequence[str]) -> None:
        super().__init__(
            f"{args[0] if args else 'an empty command'}: its output could hold pane text "
            "of unknown length; not through the control client",
            sent=False,
        )


@dataclass
class _Pending:
    """One answer block the reader expects, in the order the commands were written.

    `fut` is None for the line-count query of a screen capture (nobody awaits it: its
    answer sets `lines` of the capture after it). `guarded`: the block must hold exactly
    `lines` data lines (None: the pane was not found, so a one-line `%error`)."""

    fut: asyncio.Future[list[str]] | None
    counts: str | None = None  # the pane whose "#{pane_id} #{pane_height}" this answers
    guarded: bool = False
    lines: int | None = None
    stale: bool = False  # a block came between the count and this capture


class PaneStream:
    """Everything one pane has written since the control client attached, as text.

    Bytes are decoded with an incremental UTF-8 decoder, so a character split across two
    `%output` lines comes out whole. `position` counts characters received so far; keep it
    before an action and call `text_since(mark)` afterwards to get exactly the new output.
    At most `limit` characters are retained (older text is only in tmux's scrollback,
    see `TmuxRelay.capture`).

    A stream outlives the control client that fed it: when the client ends it is
    `suspended` until a successor takes it over (`hold`, then `release` with what the
    pane wrote meanwhile, or the gap counted in `gaps`); it is `closed` only when the
    pane or the server is gone, or no successor could attach (`TmuxCapture._revive`).
    """

    def __init__(self, pane_id: str, *, limit: int = 4_000_000) -> None:
        self.pane_id = pane_id
        self.limit = limit
        self.position = 0
        self.last_output = time.monotonic()
        self.closed = False
        self.dead = False
        self.lost_chunks = 0  # output tmux dropped while the pane was paused
        self.gaps = 0  # times output written while no client was attached is missing
        self.refilled = 0  # characters recovered from the pane's history after a gap
        self.suspended = False
        """Its control client ended and no successor has filled the gap yet: output may be
        missing right now, so silence means nothing (a turn must not end on it)."""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._chunks: deque[tuple[int, str]] = deque()
        self._retained = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._held: deque[bytes] | None = None  # output of a new client, behind a gap fill
        self._held_size = 0
        self._held_over = False
        self._held_skipped = 0  # characters of held output dropped beyond the window

    @property
    def start(self) -> int:
        """Offset of the oldest retained character."""
        return self._chunks[0][0] if self._chunks else self.position

    def feed(self, data: bytes) -> None:
        """Append raw pane bytes (called by the control client's reader)."""
        if self._held is not None:
            self._held.append(data)
            self._held_size += len(data)
            while self._held_size > self.limit and len(self._held) > 1:
                # a flood while the gap is read: the oldest held output falls out of the
                # window (counted in characters, so `position` stays true; `release`)
                old = self._held.popleft()
                self._held_size -= len(old)
                self._held_skipped += len(self._decoder.decode(old))
                self._held_over = True
            return
        text = self._decoder.decode(data)
        if text:
            self._append(text)

    def suspend(self) -> None:
        """The control client ended with this stream kept open (`ControlClient.keep_streams`)."""
        if not self.suspended:
            self.suspended = True
            self._wake()

    @property
    def holding(self) -> bool:
        """Output is held behind a gap fill (`hold` … `release`)."""
        return self._held is not None

    def hold(self) -> None:
        """A successor client is about to attach (`TmuxCapture._control_for`): keep its
        output aside until the gap before it is filled (`release`), so text stays in the
        order the pane wrote it. A character cut by the old client's end is dropped."""
        self._decoder.reset()
        self.suspended = True
        self._held, self._held_size, self._held_over = deque(), 0, False
        self._held_skipped = 0

    def unhold(self) -> None:
        """The successor did not attach: what it delivered is appended, the stream stays
        suspended (the next successor's history copy covers the gap)."""
        held, over, self._held = self._held or deque(), self._held_over, None
        if over:  # as in `release`: its head is older than the window
            self.position += self._held_skipped
            self._chunks.clear()
            self._retained = 0
        self._held_size, self._held_over, self._held_skipped = 0, False, 0
        for data in held:
            self.feed(data)

    def release(self, gap: str | None) -> None:
        """Append `gap` (the output written while no client was attached; None: unknown,
        counted in `gaps`), then the output held since `hold`."""
        held, over, self._held = self._held or deque(), self._held_over, None
        self._held_size, self.suspended = 0, False
        if gap is None:
            self.gaps += 1
            log.warning(
                "%s: output written while its tmux control client was away is missing",
                self.pane_id, extra={"pane": self.pane_id},
            )  # fmt: skip
        else:
            self.refilled += len(gap)
        if over:
            # more arrived behind the gap than the stream retains: the gap and the held
            # output's head are older than the window, as for any text beyond `limit`
            # (subscribers are told they skipped it; it is in tmux's history)
            self.position += len(gap or "") + self._held_skipped
            self._chunks.clear()
            self._retained = 0
        elif gap:
            self._append(gap)
        self._held_skipped = 0
        for data in held:
            self.feed(data)
        self._wake()

    def _append(self, text: str) -> None:
        if len(text) > self.limit:
            # a gap fill can be longer than the whole window: its head is received and
            # skipped at once (it stays in tmux's history), or one chunk would break the cap
            self.position += len(text) - self.limit
            self._chunks.clear()
            self._retained = 0
            text = text[-self.limit :]
        piece = min(_JOIN, self.limit // 16)
        if len(text) > piece > 0:
            # a gap fill is one long text: kept in pieces like tmux's lines, so dropping
            # the oldest piece keeps the window near `limit` (one huge chunk could not go)
            for at in range(0, len(text), piece):
                self._append(text[at : at + piece])
            return
        last = self._chunks[-1] if self._chunks else None
        if last is not None and len(last[1]) + len(text) <= min(_JOIN, self.limit // 16):
            # tmux sends about a line per %output: kept one chunk each, the tuple, int and
            # str headers (~150 bytes) outweighed the line (64 lanes after 1M lines held
            # ~450 MB; issue 18). Joined up to _JOIN characters, a chunk costs ~its text.
            self._chunks[-1] = (last[0], last[1] + text)
        else:
            self._chunks.append((self.position, text))
        self.position += len(text)
        self._retained += len(text)
        while self._retained - len(self._chunks[0][1]) >= self.limit:
            _, old = self._chunks.popleft()
            self._retained -= len(old)
        self.last_output = time.monotonic()
        self._wake()

    def mark_dead(self, dead: bool) -> None:
        if dead != self.dead:
            self.dead = dead
            self._wake()

    def close(self) -> None:
        """No more output will come (the pane's window closed, the server is gone, or the
        control client went away and none took its place)."""
        if self._held is not None:
            self.release(None)
        if not self.closed:
            tail = self._decoder.decode(b"", final=True)
            if tail:
                self._append(tail)
            self.closed, self.suspended = True, False
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def text_since(self, offset: int) -> str:
        """The retained text from absolute `offset` to now (clipped to what is retained)."""
        if offset >= self.position:
            return ""
        pieces: list[str] = []
        for start, text in reversed(self._chunks):
            if start + len(text) <= offset:
                break
            pieces.append(text[offset - start :] if start < offset else text)
        pieces.reverse()
        return "".join(pieces)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for new output, death or close; False when `timeout` passed first."""
        if self.closed:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            # asyncio.wait, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as output wakes `fut`, so `Supervisor.deliver` (which cancels the
            # send once the agent took the prompt) then waited for the whole turn.
            done, _ = await asyncio.wait({fut}, timeout=timeout)
            if not done:
                return False
        finally:
            if not fut.done():
                fut.cancel()
            # a pane that stays silent must not collect one dead future per poll
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)
        return True

    async def subscribe(self, since: int | None = None) -> AsyncIterator[str]:
        """New text as it arrives (coalesced while the consumer is busy) until the stream
        closes. `since` replays retained text from that offset first."""
        pos = self.position if since is None else since
        while True:
            if pos < self.position:
                if pos < self.start:
                    log.warning(
                        "subscriber of %s fell behind; skipped %d characters",
                        self.pane_id,
                        self.start - pos,
                        extra={"pane": self.pane_id},
                    )
                    pos = self.start
                text = self.text_since(pos)
                pos = self.position
                yield text
                continue
            if self.closed:
                return
            await self.wait()


EventCallback = Callable[[str, list[str]], None]


class ControlClient:
    """One `tmux -C attach-session -t =SESSION` subprocess and its reader task.

    `streams` maps pane ids (`%N`) to `PaneStream`s; a stream is created the first time a
    pane is asked for or writes output, so output of a window created after `start`
    is complete from its first byte. `on_event(name, args)` hears every other
    notification (`window-add`, `window-close`, `exit`, …).

    `keep_streams`: when the client ends on its own, its streams stay open for a
    successor (`streams`/`window_panes` of the one before, `TmuxCapture._control_for`),
    so their subscribers see a gap at most; the relay decides whether they end.
    `prelude`: tmux words run before the attach, on the same command line
    (`tmux_control_gap.gap_prelude`).
    """

    def __init__(
        self,
        tmux_argv: Sequence[str],
        session: str,
        *,
        buffer_limit: int = 4_000_000,
        pause_after: int | None = None,
        env: dict[str, str] | None = None,
        on_event: EventCallback | None = None,
        command_line: Callable[..., list[str]] | None = None,
        keep_streams: bool = False,
        streams: dict[str, PaneStream] | None = None,
        window_panes: dict[str, set[str]] | None = None,
        prelude: Sequence[str] = (),
    ) -> None:
        self.tmux_argv = list(tmux_argv)
        self.command_line = command_line
        """Builds the argv from tmux arguments when tmux runs elsewhere (over ssh)."""
        self.session = session
        self.buffer_limit = buffer_limit
        self.pause_after = pause_after
        self.env = env
        self.on_event = on_event
        self.keep_streams = keep_streams
        self.prelude = list(prelude)
        self.streams: dict[str, PaneStream] = streams if streams is not None else {}
        self.window_panes: dict[str, set[str]] = window_panes if window_panes is not None else {}
        self.detached = False  # `close` ended it with its streams: nothing to carry on
        self.exited = asyncio.Event()
        self.exit_reason = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._attached: asyncio.Future[None] | None = None
        self._pending: deque[_Pending] = deque()
        self._block: list[str] | None = None
        self._block_owner: _Pending | None = None  # the pending answer the open block is
        self._block_id = b""
        self._data_left = -1  # lines of the open block still taken as data (-1: unguarded)
        self._broken = False
        self._background: set[asyncio.Task[list[str]]] = set()

    @property
    def running(self) -> bool:
        return self._proc is not None and not self.exited.is_set()

    async def start(self, timeout: float = 10.0) -> None:
        """Attach and wait until tmux confirms; raises HarnessError if it cannot attach."""
        flags = "ignore-size"
        if self.pause_after:
            flags += f",pause-after={self.pause_after}"
        self._attached = asyncio.get_running_loop().create_future()
        args = ("-C", *self.prelude, "attach-session", "-f", flags, "-t", f"={self.session}")
        argv = self.command_line(*args) if self.command_line else [*self.tmux_argv, *args]
        self._proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=self.env,
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read_loop(), name=f"tmux-control-{self.session}")
        try:
            await asyncio.wait_for(asyncio.shield(self._attached), timeout)
        except TimeoutError as exc:
            await self.close(end_streams=not self.keep_streams)
            raise HarnessTimeout(
                f"tmux control client did not attach to session {self.session!r} "
                f"within {timeout:.0f}s"
            ) from exc
        except HarnessError:
            await self.close(end_streams=not self.keep_streams)
            raise
        await self.command("refresh-client", "-B", f"{_DEAD_SUB}:%*:#{{pane_dead}}")

    def stream(self, pane_id: str) -> PaneStream:
        """The stream for `pane_id`, created empty if the pane has not written yet."""
        stream = self.streams.get(pane_id)
        if stream is None:
            stream = self.streams[pane_id] = PaneStream(pane_id, limit=self.buffer_limit)
            if self.exited.is_set():
                stream.close()
        return stream

    def bind_window(self, window_id: str, pane_id: str) -> None:
        """Remember which window a pane is in, so `%window-close` closes its stream."""
        self.window_panes.setdefault(window_id, set()).add(pane_id)

    async def command(self, *args: str, timeout: float = 10.0) -> list[str]:
        """Run one tmux command through this client; returns its output lines.

        Faster than forking `tmux` (no process start; over SSH no new session). Raises
        ControlCommandError with tmux's message on `%error`, ControlClientGone when the
        client is not running or ends first, HarnessTimeout after `timeout`.
        """
        return (await self.commands([args], timeout=timeout))[0]

    async def commands(
        self, commands: Sequence[Sequence[str]], *, timeout: float = 10.0
    ) -> list[list[str]]:
        """Run several tmux commands in order, written in one go (one line each: tmux
        answers every command of a `a ; b` line with a block of its own, and a line per
        command keeps one answer per pending future). Every command runs even when an
        earlier one fails; then the first failure is raised (ControlCommandError), else
        the output lines of each are returned.

        A command whose output could hold pane text of unknown length raises
        ControlPathRefused (`route`) before anything is written; a screen capture is
        written with its line count query first (`screen_command_line`)."""
        proc = self._proc
        if not self.running or proc is None or proc.stdin is None:
            raise ControlClientGone(
                f"tmux control client for session {self.session!r} is not running", sent=False
            )
        routes = [route(args) for args in commands]
        for args, how in zip(commands, routes, strict=True):
            if how == "process":
                raise ControlPathRefused(args)
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[list[str]]] = []
        pending: list[_Pending] = []
        lines = []
        for args, how in zip(commands, routes, strict=True):
            fut: asyncio.Future[list[str]] = loop.create_future()
            futs.append(fut)
            line = " ".join(quote_command_arg(a) for a in args)
            if how == "screen":
                target = screen_target(args)
                assert target is not None  # route() said so
                count = ("display-message", "-p", "-t", target, COUNT_FORMAT)
                # one line: tmux runs both in one pass of its command queue, so nothing
                # (pane output, a resize) happens between the count and the capture
                line = " ".join(quote_command_arg(a) for a in count) + " ; " + line
                pending.append(_Pending(None, counts=target))
                pending.append(_Pending(fut, guarded=True))
            else:
                pending.append(_Pending(fut))
            lines.append(line + "\n")
        # answers queued and lines written with no await between: concurrent callers
        # cannot interleave, so the n-th answer block belongs to the n-th pending answer
        self._pending.extend(pending)
        proc.stdin.write("".join(lines).encode("utf-8", "surrogatepass"))
        try:  # asyncio.wait: Python 3.11's wait_for can swallow a cancel (see `wait`)
            await proc.stdin.drain()
            done, _ = await asyncio.wait(futs, timeout=timeout)
        except asyncio.CancelledError:
            for fut in futs:
                fut.cancel()
            raise
        except (ConnectionError, OSError) as exc:
            for fut in futs:
                fut.cancel()
            raise ControlClientGone(
                f"tmux control client for session {self.session!r} ended: {exc}", sent=True
            ) from exc
        # every exception is retrieved (asyncio logs the ones nobody looked at)
        errors = [fut.exception() for fut in futs if fut.done() and not fut.cancelled()]
        if len(done) < len(futs):
            owner = self._block_owner
            stuck = owner is not None and owner.guarded and owner.fut in futs
            for fut in futs:
                fut.cancel()
            if stuck:
                # inside a counted answer still: tmux wrote fewer lines than counted, so
                # the reader would take the next answers as this one's text
                self._break("no end to a counted capture")
            raise HarnessTimeout(f"tmux did not answer {commands[0][0]!r} within {timeout:.0f}s")
        for error in errors:
            if error is not None:
                raise error
        return [fut.result() for fut in futs]

    async def close(self, *, end_streams: bool = True) -> None:
        """Detach (close stdin), wait briefly, then kill; closes every stream unless
        `end_streams` is False (a successor takes them over)."""
        self.detached = self.detached or end_streams
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            # closing stdin detaches the client; it also releases the pipe transport, which
            # asyncio would otherwise only notice after the loop is closed
            with contextlib.suppress(Exception):
                proc.stdin.close()
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._reader.cancel()
        self._finish("closed")
        if end_streams:
            self.end_streams()

    def end_streams(self) -> None:
        """Close every stream: no more output will come for them (the relay found the
        pane or the server gone, or no successor could attach)."""
        for stream in self.streams.values():
            stream.close()

    # -- reader ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while True:
                raw = await stdout.readline()
                if not raw:
                    break
                self._handle_line(raw[:-1] if raw.endswith(b"\n") else raw)
        except Exception:  # a reader must never die silently
            log.exception("tmux control reader for %s failed", self.session)
        finally:
            self._finish(self.exit_reason or "tmux control client ended")

    def _handle_line(self, line: bytes) -> None:
        if self._broken:
            return  # out of step: nothing more is believed (the client is closing)
        if self._block is not None:
            if self._data_left > 0:
                # a counted answer (a captured screen): these lines are pane text,
                # whatever they look like; tmux writes them unescaped
                self._data_left -= 1
                self._block.append(line.decode("utf-8", "replace"))
                return
            # the block ends only on the %end/%error carrying the %begin's whole tag
            if line.startswith((b"%end ", b"%error ")) and line.split(b" ", 1)[1] == (
                self._block_id
            ):
                self._end_block(line.startswith(b"%error"))
            elif self._data_left == 0:
                self._break(
                    f"the answer to a counted capture did not end after its "
                    f"{len(self._block)} lines"
                )
            else:
                self._block.append(line.decode("utf-8", "replace"))
            return
        if line.startswith(b"%output "):
            _, pane, data = line.split(b" ", 2) if line.count(b" ") >= 2 else (b"", line[8:], b"")
            self.stream(pane.decode()).feed(unescape_output(data))
            return
        if line.startswith(b"%extended-output "):
            head, _, data = line.partition(b" : ")
            self.stream(head.split(b" ")[1].decode()).feed(unescape_output(data))
            return
        if line.startswith(b"%begin "):
            self._block = []
            self._block_id = line.split(b" ", 1)[1]
            self._block_owner = None
            self._data_left = -1
            # Only a block flagged 1 answers a command this client wrote: the attach
            # command's own block (before %session-changed) and a hook's are flagged 0.
            ours = self._block_id.rsplit(b" ", 1)[-1] == b"1"
            if ours and self._attached is not None and self._attached.done() and self._pending:
                owner = self._block_owner = self._pending.popleft()
                if owner.guarded and owner.stale:
                    self._break("a command ran between a line count and its capture")
                elif owner.guarded:
                    self._data_left = owner.lines if owner.lines is not None else 1
            elif self._pending and self._pending[0].guarded:
                # a hook's command (`set-hook after-display-message …`) ran between the
                # count and the capture: it may have resized the pane, so the count is
                # not to be trusted
                self._pending[0].stale = True
            return
        self._notification(line.decode("utf-8", "replace"))

    def _end_block(self, error: bool) -> None:
        owner = self._block_owner
        if owner is not None and owner.guarded and owner.lines is None and not error:
            self._break("a capture of a pane that was not found answered with text")
            return  # (`_finish` fails the open answer)
        lines, self._block = self._block or [], None
        self._block_owner = None
        self._data_left = -1
        if owner is None:
            return
        if owner.counts is not None:
            self._counted(owner.counts, lines, error)
            return
        fut = owner.fut
        if fut is None or fut.done():
            return
        if error:
            fut.set_exception(
                ControlCommandError("tmux: " + ("\n".join(lines) or "command failed"))
            )
        else:
            fut.set_result(lines)

    def _counted(self, pane: str, lines: list[str], error: bool) -> None:
        """The line-count answer of a screen capture: sets how many lines the capture's
        block (the next pending answer, written on the same command line) must hold."""
        capture = self._pending[0] if self._pending else None
        if capture is None or not capture.guarded:
            self._break("a line count without its capture")
            return
        if error:
            # tmux drops the rest of a command line after a failed command: no capture
            self._pending.popleft()
            if capture.fut is not None and not capture.fut.done():
                capture.fut.set_exception(
                    ControlCommandError("tmux: " + ("\n".join(lines) or "command failed"))
                )
            return
        head, _, height = lines[0].partition(" ") if len(lines) == 1 else ("", "", "")
        # the pane not found: display-message prints an empty line, capture-pane fails
        capture.lines = int(height) if head == pane and height.isdigit() else None

    def _break(self, reason: str) -> None:
        """The answers are out of step with the commands (tmux did not answer as counted):
        nothing this client reads can be trusted any more. Discard the open answer, fail
        every pending one (`ControlClientGone`; a query is then asked of a tmux process),
        and kill the client; the relay attaches a successor that carries its streams on
        (`TmuxCapture._revive`)."""
        log.warning("tmux control client for %s out of step (%s); closing it", self.session, reason)
        self._broken = True
        self._block = None
        self.exit_reason = f"tmux control client out of step: {reason}"
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        self._finish(self.exit_reason)

    def _notification(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        name = name.lstrip("%")
        if name == "session-changed" and self._attached and not self._attached.done():
            self._attached.set_result(None)
        elif name == "exit":
            self.exit_reason = rest or "tmux control client exited"
            if self._attached and not self._attached.done():
                self._attached.set_exception(
                    HarnessError(
                        f"cannot attach to tmux session {self.session!r}: {self.exit_reason}"
                    )
                )
        elif name == "subscription-changed":
            head, _, value = rest.partition(" : ")
            fields = head.split(" ")
            if len(fields) >= 5 and fields[0] == _DEAD_SUB:
                pane = fields[4]
                if pane in self.streams or value == "1":
                    self.stream(pane).mark_dead(value.strip() == "1")
            return
        elif name in ("window-close", "unlinked-window-close"):
            for pane in self.window_panes.pop(rest.strip(), set()):
                if pane in self.streams:
                    self.streams[pane].close()
        elif name == "pause":
            pane = rest.strip()
            self.stream(pane).lost_chunks += 1
            log.warning("tmux paused %s (consumer too slow); resuming", pane)
            if self.running:
                task = asyncio.get_running_loop().create_task(
                    self.command("refresh-client", "-A", f"{pane}:continue")
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        if self.on_event is not None:
            self.on_event(name, rest.split(" ") if rest else [])

    def _finish(self, reason: str) -> None:
        if self.exited.is_set():
            return
        self.exit_reason = self.exit_reason or reason
        self.exited.set()
        if self._attached and not self._attached.done():
            self._attached.set_exception(
                HarnessError(f"cannot attach to tmux session {self.session!r}: {reason}")
            )
        owners = [self._block_owner] if self._block_owner is not None else []
        self._block_owner = None
        for pending in [*owners, *self._pending]:
            fut = pending.fut
            if fut is not None and not fut.done():
                fut.set_exception(
                    ControlClientGone(f"tmux control client ended: {reason}", sent=True)
                )
        self._pending.clear()
        if not self.keep_streams:
            self.end_streams()
        elif not self.detached:
            for stream in self.streams.values():
                stream.suspend()
