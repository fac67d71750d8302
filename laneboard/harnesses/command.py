"""The `command` harness: any program in a lane window (a shell, aider, `openclaw tui`).

It knows nothing about the program except `spec.command` and two optional regexes:

- `spec.ready_pattern`: the program waits for input when this matches the screen;
- `spec.busy_pattern`: the program is working while this matches the screen.

Screens are matched by RE2 (linear time, `laneboard.linear_regex`) in multi-line mode after
trailing whitespace is removed, so `\\Z` (or RE2's `\\z`) means "at the bottom of the
screen" (e.g. `r"\\$\\Z"` for a shell prompt).

Start: ready once `ready_pattern` matches, or as soon as the process runs if there is
none. A lane whose window already runs (found through its tmux user options) is adopted,
not started again.

The turn-end rule of `send` (checked whenever the pane writes, at least every 0.25 s):

1. busy and ready patterns: done when ready matches and busy does not, after busy was
   seen or new output arrived, and the pane has been quiet for `settle` (0.2 s);
2. ready pattern only: done when new output arrived, ready matches and the pane has been
   quiet for `settle`;
3. busy pattern only: done when busy does not match after it was seen or after new
   output, and the pane has been quiet for `quiet` (default 1 s);
4. no pattern: done when the pane has been quiet for `quiet` since the last output or
   the submit, whichever is later (output quiescence on the control-mode stream). A
   program that thinks silently for longer than `quiet` ends the turn early: give it
   a ready pattern.

The turn also ends when the process exits (state "failed" with its exit status), when the
repetition watchdog trips (the lane is interrupted, `ErrorRaised(kind="watchdog")` is
published, state "failed"), or at the deadline ("timed-out"). The reply is the output
since the prompt, ANSI stripped, without the echoed prompt and a trailing ready prompt.

The fence is enforced by a bubblewrap sandbox around the program (`sandbox`): read-only and
plan lanes can write nothing but a private /tmp, workspace-write lanes their cwd too, full
lanes run unsandboxed. A fenced lane whose sandbox cannot start is not started. `fences.deny`
cannot apply inside an arbitrary program; the sandbox is what holds the fence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable

from laneboard.core.vocabulary import TurnState
from laneboard.errors import BinaryMissing, HarnessError, HarnessTimeout
from laneboard.harnesses import ansi, sandbox
from laneboard.harnesses.base import (
    ErrorRaised,
    Harness,
    HarnessSpec,
    Health,
    OutputReceived,
    TurnResult,
    TurnStarted,
)
from laneboard.harnesses.tmux import LaneWindow, LaneWindowError, TmuxRelay
from laneboard.harnesses.tmux_control import PaneStream
from laneboard.harnesses.watchdog import RepetitionWatchdog
from laneboard.linear_regex import LinearPattern

log = logging.getLogger(__name__)



def spec_digest(spec: HarnessSpec) -> str:
    """A short digest of what makes a command lane what it is (stored on its window, so
    an adopting process can tell that the config changed since the lane started)."""
    doc = {
        "command": list(spec.command),
        "cwd": spec.cwd,
        "env": sorted(spec.env.items()),
        "ready": spec.ready_pattern,
        "busy": spec.busy_pattern,
        "model": spec.model,
        "fence": spec.fence,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


class CommandHarness(Harness):
    """Drive `spec.command` in a window of `session` on `relay` (see module docstring).

    `quiet` is the silence that ends a turn without patterns; `settle` the silence
    required with a ready pattern; `ready_timeout` bounds `start`. `watchdog` makes the
    harness's own repetition watchdog; None leaves watching to whoever reads
    `output_stream()` (`watches_output` is then False).
    """

    kind = "command"
    watches_output = True

    def __init__(
        self,
        spec: HarnessSpec,
        *,
        relay: TmuxRelay,
        session: str = "laneboard",
        width: int = 200,
        height: int = 50,
        quiet: float = 1.0,
        settle: float = 0.2,
        ready_timeout: float = 30.0,
        watchdog: Callable[[], RepetitionWatchdog] | None = RepetitionWatchdog,
    ) -> None:
        super().__init__(spec)
        self.relay = relay
        self.session = session
        self.width = width
        self.height = height
        self.quiet = quiet
        self.settle = settle
        self.ready_timeout = ready_timeout
        self.window: LaneWindow | None = None
        self.stream: PaneStream | None = None
        self.watchdog = watchdog() if watchdog is not None else None
        self.watches_output = watchdog is not None
        # RE2, linear in the screen it reads, whatever the pattern (config check refuses
        # what RE2 cannot run).
        self._ready_re = LinearPattern(spec.ready_pattern, multiline=True) if spec.ready_pattern else None
        self._busy_re = LinearPattern(spec.busy_pattern, multiline=True) if spec.busy_pattern else None
        self._tasks: list[asyncio.Task[None]] = []
        self._turn_lock = asyncio.Lock()
        self._watching = True
        self._tripped: str | None = None

    @property
    def pane_id(self) -> str:
        if self.window is None:
            raise HarnessError(f"lane {self.spec.lane!r}: not started")
        return self.window.pane_id

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt the lane's running window, or start `spec.command` in a new one; wait
        until ready. Raises BinaryMissing, HarnessTimeout, HarnessError (exited early)."""
        if self.window is not None and await self.relay.is_alive(self.window.pane_id):
            return
        self._set_state("starting")
        existing = await self.relay.find_lane(self.session, self.spec.lane)
        digest = spec_digest(self.spec)
        detail = ""
        if existing is not None and not existing.dead and existing.harness != self.kind:
            self._set_state("failed", "lane id taken")
            raise LaneWindowError(
                f"lane {self.spec.lane!r}: tmux session {self.session!r} already runs it with "
                f"the {existing.harness or 'unknown'} harness (pane {existing.pane_id}); "
                "stop that lane first"
            )
        if existing is not None and not existing.dead:
            self.window, self.adopted = existing, True
            if existing.digest != digest:
                detail = "adopted a lane started with a different configuration"
                log.warning("lane %s: %s", self.spec.lane, detail, extra={"lane": self.spec.lane})
        else:
            if existing is not None:
                await self.relay.kill_lane(existing)
            self.window = await self._create(digest)
            self.adopted = False
        self.stream = await self.relay.stream(self.window.pane_id)
        since = None if self.adopted else 0
        self._tasks = [
            asyncio.create_task(
                self._pump(self.stream, since), name=f"lane-{self.spec.lane}-output"
            ),
            asyncio.create_task(self._monitor(self.stream), name=f"lane-{self.spec.lane}-exit"),
        ]
        try:
            if self.adopted:
                # Running already, perhaps mid-turn (its ready pattern then is not on
                # screen): waiting `ready_timeout` for it held an adopting `send
                # --defer-if-busy` past its own --timeout, and a turn longer than that
                # failed the start, which stopped a working lane. Whether it is idle is
                # `wait_idle`'s question, asked under the sender's own deadline.
                await self._check_alive()
            else:
                await self._wait_ready()
        except HarnessError as exc:
            self._set_state("failed", str(exc))
            raise
        self._set_state("ready", detail or ("adopted" if self.adopted else ""))

    async def _create(self, digest: str) -> LaneWindow:
        argv = list(self.spec.command)
        if not argv:
            raise HarnessError(
                f"lane {self.spec.lane!r}: the command harness needs `command:` (an argv list)"
            )
        from laneboard.harnesses.remote_host import remote_host_of

        host = remote_host_of(self.relay)  # a lane on a host: program and sandbox THERE
        path = self.spec.env.get("PATH", os.environ.get("PATH"))
        if host is not None:
            await host.which(argv[0], self.spec.env, what=f"lane {self.spec.lane!r}",
                             install_hint=f"your package manager on {host.name}")
        elif shutil.which(argv[0], path=path) is None:
            raise BinaryMissing(
                f"lane {self.spec.lane!r}: {argv[0]!r} is not installed or not on PATH"
            )
        cwd = os.path.abspath(self.spec.cwd)
        try:
            if host is not None:
                bwrap = await host.check_sandbox(self.spec.fence, cwd, lane=self.spec.lane)
            else:
                bwrap = await asyncio.to_thread(
                    sandbox.check_sandbox, self.spec.fence, cwd, lane=self.spec.lane
                )
        except sandbox.SandboxUnavailable as exc:
            self._set_state("failed", str(exc))
            raise
        if bwrap is not None:
            argv = sandbox.sandbox_argv(self.spec.fence, cwd, argv, bwrap=bwrap)
        return await self.relay.create_lane_window(
            self.session,
            self.spec.lane,
            argv,
            cwd=self.spec.cwd,
            env=self.spec.env,
            metadata={"harness": self.kind, "model": self.spec.model or "", "digest": digest},
            width=self.width,
            height=self.height,
        )

    async def _check_alive(self) -> None:
        if not await self.relay.is_alive(self.pane_id):
            raise HarnessError(await self._exit_message("exited at start"))

    async def _wait_ready(self) -> None:
        if self._ready_re is None:
            await self._check_alive()
            return
        found = False
        pattern = self._ready_re

        async def ready() -> bool:
            nonlocal found
            found = await self._screen_matches(pattern)
            return found or (self.stream is not None and self.stream.dead)

        if not await self.relay.wait_until(ready, self.ready_timeout, pane=self.pane_id):
            raise HarnessTimeout(
                f"lane {self.spec.lane!r}: ready pattern {self.spec.ready_pattern!r} not on "
                f"screen after {self.ready_timeout:.0f}s"
            )
        if not found:
            raise HarnessError(await self._exit_message("exited before it was ready"))

    async def stop(self) -> None:
        """Kill the lane's window and stop watching it."""
        await self.detach()
        if self.window is not None:
            await self.relay.kill_lane(self.window)
        self.window, self.stream = None, None
        self._set_state("stopped")

    async def detach(self) -> None:
        """Stop watching the lane and leave it running (the supervisor is closing).

        The exit monitor must not outlive its event loop: once the relay closes, it would
        ask tmux whether the pane lives, spawning a process while the loop shuts down.
        """
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def interrupt(self) -> None:
        """Ctrl-C to the program (the launcher survives it, see `tmux_windows._launch_script`)."""
        await self.relay.send_keys(self.pane_id, "C-c")

    async def health(self) -> Health:
        if self.window is None:
            return Health(alive=False, detail="not started")
        alive = await self.relay.is_alive(self.window.pane_id)
        pid = await self.relay.pane_pid(self.window.pane_id)
        return Health(
            alive=alive, pid=pid, detail="" if alive else await self._exit_message("exited")
        )

    # -- a turn -----------------------------------------------------------------------------

    async def send(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """Paste `prompt`, press Enter, wait for the turn to end (module docstring)."""
        if self.stream is None or self.window is None:
            raise HarnessError(f"lane {self.spec.lane!r}: not started")
        stream = self.stream
        async with self._turn_lock:
            if stream.closed and not stream.dead and await self.relay.is_alive(self.pane_id):
                stream = await self._rebind()
            if self._tripped is not None:
                # The program interrupted last turn may still have output on its way
                # (tmux delivers it behind the screen): let it pass before watching anew,
                # or it would trip the fresh watchdog of this turn.
                await self._drain(stream, quiet=self.settle, limit=2.0)
            if self.watchdog is not None:
                self.watchdog.reset()
            self._tripped, self._watching = None, True
            started = time.time()
            self._set_state("busy")
            mark = stream.position
            busy_re = self._busy_re
            verify = None
            if busy_re is not None:

                async def verify() -> bool:
                    return stream.position > mark + len(prompt) or await self._screen_matches(
                        busy_re
                    )

            try:
                await self.relay.deliver(self.pane_id, prompt, verify=verify)
                self.hub.publish(TurnStarted(self.spec.lane))
                state, error = await self._wait_turn(stream, mark, started + timeout)
            except BaseException:
                self._set_state("failed" if stream.dead else "ready")
                raise
            reply = self._reply(stream.text_since(mark), prompt)
            self._set_state("failed" if stream.dead else "ready", error or "")
            return TurnResult(
                reply=reply, state=state, error=error, model=self.spec.model,
                started=started, finished=time.time(),
                extra={"exit_status": await self.relay.exit_status(self.window)} if stream.dead else {},
            )  # fmt: skip

    async def _rebind(self) -> PaneStream:
        """The relay gave the lane's stream up (no control client could re-attach, the
        lane runs on): a fresh one, and its output and exit watchers, for the next turn."""
        for task in self._tasks:
            task.cancel()
        self.stream = stream = await self.relay.stream(self.pane_id)
        self._tasks = [
            asyncio.create_task(self._pump(stream, None), name=f"lane-{self.spec.lane}-output"),
            asyncio.create_task(self._monitor(stream), name=f"lane-{self.spec.lane}-exit"),
        ]
        log.info("lane %s: output stream re-opened", self.spec.lane, extra={"lane": self.spec.lane})
        return stream

    async def _wait_turn(
        self, stream: PaneStream, mark: int, deadline_wall: float
    ) -> tuple[TurnState, str | None]:
        submitted = time.monotonic()
        deadline = submitted + max(0.0, deadline_wall - time.time())
        saw_busy = False
        while True:
            now = time.monotonic()
            if self._tripped:
                return "failed", f"watchdog: {self._tripped}; the lane was interrupted"
            if stream.dead or stream.closed:
                await self._drain(stream)
                if not stream.dead and await self.relay.is_alive(self.pane_id):
                    # the relay ends a stream of a live pane only when no control client
                    # could re-attach (`TmuxCapture._revive`): not an exit, and said so
                    return "failed", (
                        f"lane {self.spec.lane!r}: its output stream ended (no tmux control "
                        "client could re-attach); the lane runs on"
                    )
                return "failed", await self._exit_message("exited during the turn")
            if now >= deadline:
                return "timed-out", f"no end of turn within {deadline - submitted:.0f}s"
            if stream.suspended:
                # the control client is being replaced: output may be missing, so neither
                # silence nor the screen says the turn ended (`TmuxCapture._revive`)
                await stream.wait(min(0.25, max(0.01, deadline - now)))
                continue
            quiet_for = now - max(stream.last_output, submitted)
            grew = stream.position > mark
            if self._ready_re is not None or self._busy_re is not None:
                screen = (await self.relay.screen(self.pane_id)).rstrip()
                busy = bool(self._busy_re and self._busy_re.search(screen))
                ready = bool(self._ready_re and self._ready_re.search(screen))
                saw_busy = saw_busy or busy
                if self._ready_re is not None:
                    done = ready and not busy and (saw_busy or grew) and quiet_for >= self.settle
                else:
                    done = not busy and (saw_busy or grew) and quiet_for >= self.quiet
            else:
                done = quiet_for >= self.quiet
            if done and not stream.suspended:  # (it may have become so during the screen read)
                return "done", None
            await stream.wait(min(0.25, max(0.01, deadline - now)))

    @staticmethod
    async def _drain(stream: PaneStream, quiet: float = 0.1, limit: float = 1.0) -> None:
        """Let the last output of a dead pane arrive: tmux can report the death (a timer)
        before it has read the program's final bytes from the pty."""
        end = time.monotonic() + limit
        while not stream.closed and time.monotonic() < end:
            # a suspended stream's last output may still come as a gap fill (`_revive`)
            if not await stream.wait(quiet) and not stream.suspended:
                break

    def _reply(self, raw: str, prompt: str) -> str:
        lines = ansi.normalize_newlines(ansi.strip(raw)).split("\n")
        for sent in prompt.split("\n"):
            if lines and sent.strip() and lines[0].strip().endswith(sent.strip()):
                lines.pop(0)
            else:
                break
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and self._ready_re is not None and self._ready_re.search(lines[-1].rstrip()):
            lines.pop()
        return "\n".join(lines).strip("\n")

    # -- background -------------------------------------------------------------------------

    async def _pump(self, stream: PaneStream, since: int | None) -> None:
        """Publish output as it arrives and feed the repetition watchdog."""
        async for text in stream.subscribe(since):
            self.hub.publish(OutputReceived(self.spec.lane, text))
            wd = self.watchdog
            if self._watching and wd is not None and wd.feed(ansi.strip_for_scan(text)):
                await self._trip(wd.reason)

    async def _trip(self, reason: str) -> None:
        # Stop watching until the next turn: the program may print for a moment after the
        # Ctrl-C, and one trip must give one interrupt and one event.
        self._watching, self._tripped = False, reason
        log.warning("lane %s: degenerate output (%s); interrupting", self.spec.lane, reason,
                    extra={"lane": self.spec.lane})  # fmt: skip
        self.hub.publish(ErrorRaised(self.spec.lane, "watchdog", f"degenerate output: {reason}"))
        with contextlib.suppress(HarnessError):
            await self.interrupt()

    async def _monitor(self, stream: PaneStream) -> None:
        """Say so when the program exits (tmux reports pane death within about a second)."""
        while not stream.dead and not stream.closed:
            await stream.wait()
        if (
            not stream.dead
            and self.window is not None
            and await self.relay.is_alive(self.window.pane_id)
        ):
            return  # only our control client went away (relay closed); the lane runs on
        message = await self._exit_message("exited")
        self.hub.publish(ErrorRaised(self.spec.lane, "exit", message))
        self._set_state("failed", message)

    async def output_stream(self) -> PaneStream | None:
        return self.stream

    async def at_ready(self) -> bool:
        """True when the ready pattern is on screen now (False without a ready pattern)."""
        return self._ready_re is not None and await self._screen_matches(self._ready_re)

    async def wait_idle(self, timeout: float, on_busy: Callable[[], None] | None = None) -> bool:
        """Wait until the program looks ready for input, by the same rules that end a turn:
        the ready pattern on screen and the busy pattern not; with a busy pattern only,
        busy not on screen and `quiet` seconds without output; with no pattern, `quiet`
        seconds without output. A dead pane counts as idle: `send` then reports the exit."""
        if self.stream is None or self.window is None:
            raise HarnessError(f"lane {self.spec.lane!r}: not started")
        stream = self.stream
        told = False

        async def idle() -> bool:
            nonlocal told
            if stream.dead or stream.closed:
                return True
            looks = await self._looks(stream)
            if stream.suspended:
                return False  # its control client is being replaced: silence means nothing
            if looks == "idle":
                return True
            if looks == "busy" and not told and on_busy is not None:
                told = True
                on_busy()
            return False

        return await self.relay.wait_until(idle, timeout, pane=self.pane_id)

    async def _looks(self, stream: PaneStream) -> str:
        """How the lane looks: "idle", "busy" (the screen says so), or "settling" (a
        busy-pattern-only lane whose busy mark is gone but whose output has not been
        quiet for `quiet` yet: not worth telling anyone about)."""
        quiet = time.monotonic() - stream.last_output >= self.quiet
        if self._ready_re is None and self._busy_re is None:
            return "idle" if quiet else "busy"
        screen = (await self.relay.screen(self.pane_id)).rstrip()
        if self._busy_re is not None and self._busy_re.search(screen):
            return "busy"
        if self._ready_re is not None:
            return "idle" if self._ready_re.search(screen) is not None else "busy"
        return "idle" if quiet else "settling"

    async def _screen_matches(self, pattern: LinearPattern) -> bool:
        return pattern.search((await self.relay.screen(self.pane_id)).rstrip()) is not None

    async def _exit_message(self, what: str) -> str:
        status = await self.relay.exit_status(self.window) if self.window else None
        tail = f" with status {status}" if status is not None else ""
        name = self.spec.command[0] if self.spec.command else "command"
        return f"lane {self.spec.lane!r}: {name} {what}{tail}"
