"""What the claude-code and codex harnesses share: an agent CLI in a pane, or one run a prompt.

Both drive a full-screen CLI in a tmux pane (interactive) or one headless process per
prompt (exec), and both need the same plumbing around their own turn logic:

- the binary lookup with an install hint, the pane opened or adopted on the relay, the
  wait for the ready screen (failing on a setup dialog or an exited CLI);
- the fenced-lane tree check: a plan/read-only lane must leave the working tree as it
  found it, apart from directories laneboard or the CLI itself writes to;
- permission dialogs: `refuse_or_wait` denies a dialog whose command (or, when no command
  could be read, whose text) matches `spec.deny` — tokenised shell and HTTP patterns, see
  `laneboard.harnesses.deny` — or any dialog in a fenced lane, with Escape and an
  `ErrorRaised(kind="fence")` event; any other dialog leaves the lane "waiting" for the
  person at the cockpit. Nothing here ever answers yes;
- the shape of an interactive turn (`send`): wait for ready, snapshot the tree, mark the
  transcript, paste the prompt and press Enter, let the harness confirm the submit and
  wait for the end, check the tree; exec lanes go to `send_headless` instead;
- interrupt, stop and health.

A lane with `host:` (its relay is a `RemoteTmuxRelay`) runs the CLI on that host: the
binary is looked up THERE (`remote_host.RemoteHost.which`, with the lane's env PATH), a
headless run goes over the link (`remote_run.RemoteRun`) with only the lane's own env,
and the tree check is skipped (the tree is on the host; the CLI's own sandbox holds the
fence there).

What really differs stays in each harness: where the transcript is and how a submit is
confirmed and the end of a turn recognised (`_begin_turn`, `_complete_turn`), the
headless run, and the screen rules (`classify`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from laneboard.errors import FenceViolation, HarnessError, HarnessTimeout, SetupBlocked
from laneboard.harnesses.agent_pane import Pane, RelayPane, open_relay_pane, pause, poll_until
from laneboard.harnesses.base import (
    WRITABLE_FENCES,
    ErrorRaised,
    Harness,
    HarnessSpec,
    Health,
    TurnFinished,
    TurnResult,
    TurnStarted,
    UsageReported,
)
from laneboard.harnesses.deny import DenyMatcher
from laneboard.harnesses.headless import HeadlessRun, find_binary
from laneboard.harnesses.remote_files import RemoteMirror
from laneboard.harnesses.remote_host import remote_host_of
from laneboard.harnesses.remote_run import RemoteRun
from laneboard.harnesses.tmux import LaneWindow, TmuxRelay
from laneboard.harnesses.tree_snapshot import TreeSnapshot, snapshot

if TYPE_CHECKING:
    from laneboard.harnesses.tmux_control import PaneStream

log = logging.getLogger(__name__)

#: What a harness keeps about one interactive turn (its transcript tail and what it read).
TurnT = TypeVar("TurnT")


class AgentScreen(Protocol):
    """What a screen rule module says about one capture (see claude_screen, codex_screen)."""

    @property
    def state(self) -> str: ...

    @property
    def detail(self) -> str: ...


#: What the harness's screen rules return for one capture.
ScreenT = TypeVar("ScreenT", bound=AgentScreen)


class AgentCliHarness(Harness, Generic[TurnT, ScreenT]):
    """Base of the harnesses that drive an agent CLI; subclasses set the class attributes
    and implement `_start_pane`, `classify`, `send_headless`, `_begin_turn`,
    `_complete_turn`."""

    #: The program's name in messages ("claude", "codex").
    program: str = ""
    #: How to install the pinned CLI (said when the binary is missing).
    install_hint: str = ""
    #: What a headless run is called in `health()` ("headless run", "exec run").
    run_label: str = "headless run"

    def __init__(
        self,
        spec: HarnessSpec,
        *,
        relay: TmuxRelay | None,
        session: str,
        binary: str,
        ready_timeout: float,
        env: Mapping[str, str],
    ) -> None:
        super().__init__(spec)
        self.relay = relay
        self.session = session
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.env = dict(env)
        self.pane: Pane | None = None
        self._run: HeadlessRun | None = None
        self.remote = remote_host_of(relay)
        # a remote lane's cwd is a path on its host: not resolved against this machine
        self._cwd = spec.cwd if self.remote is not None else str(Path(spec.cwd).resolve())
        self.deny = DenyMatcher(spec.deny)
        self._remote_binary: str | None = None
        #: a remote interactive lane's transcript, mirrored here (`remote_files`)
        self.mirror: RemoteMirror | None = None

    # -- to implement ----------------------------------------------------------------------

    async def start(self) -> None:
        """Check the binary (BinaryMissing names the install command); a headless lane is
        ready at once, an interactive one opens (or adopts) its pane and waits for the
        CLI's input box. The same order for every agent CLI, so it lives here once."""
        path = await self._program()
        self._set_state("starting")
        if self.headless:
            self._set_state("ready")
            return
        await self._start_pane(path)
        await self._wait_ready(self.ready_timeout, running=self.adopted)
        self._set_state("ready")

    @abstractmethod
    async def _start_pane(self, binary: str) -> None:
        """Open or adopt the interactive pane running `binary` (via `_open_pane`)."""

    @abstractmethod
    def classify(self, screen: str) -> ScreenT:
        """Read one capture of the pane (the harness's screen rules)."""

    @abstractmethod
    async def send_headless(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """One headless run of the CLI for `prompt` (exec lanes)."""

    @abstractmethod
    def _begin_turn(self) -> TurnT:
        """Just before the prompt is pasted: mark where the transcript ends now."""

    @abstractmethod
    async def _complete_turn(self, turn: TurnT, deadline: float) -> TurnResult:
        """After Enter: confirm the submit (`_confirm_submit`), wait for the turn's end
        (answering dialogs with `refuse_or_wait`) and return its result."""

    def own_dirs(self) -> Iterable[Path]:
        """Directories the CLI itself writes to (its config/state home), which the tree
        check must not count as the agent's doing when they sit inside the working tree."""
        return ()

    # -- common ----------------------------------------------------------------------------

    @property
    def headless(self) -> bool:
        """One process per prompt (`mode: exec`) rather than a session in a pane."""
        return self.spec.mode == "exec"

    @property
    def fenced(self) -> bool:
        """Plan and read-only lanes must not write; workspace-write and full may."""
        return self.spec.fence not in WRITABLE_FENCES

    def _where(self) -> str:
        return f"lane {self.spec.lane} ({self.kind})"

    def _binary_path(self) -> str:
        return find_binary(self.binary, self.env, self._where(), self.install_hint)

    async def _program(self) -> str:
        """The CLI's path where the lane runs: on its host for a remote lane (asked once
        per harness), else on this machine's PATH. BinaryMissing names where it looked."""
        if self.remote is None:
            return self._binary_path()
        if self._remote_binary is None:
            self._remote_binary = await self.remote.which(
                self.binary, self.spec.env, what=self._where(), install_hint=self.install_hint
            )
        return self._remote_binary

    def remote_env(self) -> dict[str, str]:
        """What a remote run gets of the environment: the lane's own `env` and its key
        variable (never this machine's whole environment; PATH and HOME are the host's).
        Harnesses add their own settings (CODEX_HOME…)."""
        env = dict(self.spec.env)
        key = self.spec.api_key_env
        if key and key in self.env:
            env[key] = self.env[key]
        return env

    def _headless_run(self, argv: Sequence[str]) -> HeadlessRun:
        """One headless process: here, or on the lane's host over its link."""
        if self.remote is not None:
            return RemoteRun(self.remote.link, argv, cwd=self._cwd, env=self.remote_env(),
                             what=self._where())
        return HeadlessRun(argv, cwd=self._cwd, env=self.env, what=self._where())

    def _tree(self) -> TreeSnapshot | None:
        """A snapshot of the working tree before a fenced lane's turn (None: not fenced)."""
        if not self.fenced or self.remote is not None:
            return None  # a remote lane's tree is on its host: its CLI's sandbox holds it
        exclude: list[str] = []
        for own in (*self.own_dirs(), *map(Path, self.spec.tree_ignore)):
            with contextlib.suppress(ValueError):
                exclude.append(own.resolve().relative_to(self._cwd).as_posix())
        return snapshot(self._cwd, exclude=tuple(exclude))

    def _check_tree(self, before: TreeSnapshot | None) -> None:
        """FenceViolation (and an ErrorRaised event) when a fenced lane changed the tree."""
        if before is None:
            return
        after = self._tree()
        assert after is not None
        changes = after.changes_since(before)
        if changes:
            shown = ", ".join(changes[:10]) + (" …" if len(changes) > 10 else "")
            self._fence_failure(
                f"{self._where()}: the {self.spec.fence} lane changed the working tree "
                f"{self._cwd}: {shown}"
            )

    def _fence_failure(self, message: str) -> None:
        self.hub.publish(ErrorRaised(self.spec.lane, "fence", message))
        self._set_state("failed", "fence violated")
        raise FenceViolation(message)

    def _finish(self, result: TurnResult) -> TurnResult:
        self.hub.publish(UsageReported(self.spec.lane, result.usage))
        self.hub.publish(TurnFinished(self.spec.lane, result))
        return result

    def _turn_started(self) -> None:
        """Say that the agent took the prompt (the submit was verified)."""
        self.hub.publish(TurnStarted(self.spec.lane))

    def _check_prompt(self, prompt: str) -> None:
        if prompt.lstrip().startswith(("/", "!")):
            raise HarnessError(
                f"{self._where()}: a prompt starting with '/' or '!' is run by "
                f"{self.program} as a slash command or shell command, not sent to the "
                "model; start it with a word"
            )

    async def send(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """Deliver `prompt`, wait for the turn's end, return the answer (a headless run for
        exec lanes). A fenced lane's tree is checked afterwards (FenceViolation)."""
        if self.headless:
            return await self.send_headless(prompt, timeout=timeout)
        if self.pane is None:
            await self.start()
        assert self.pane is not None
        self._check_prompt(prompt)
        deadline = time.monotonic() + timeout
        await self._wait_ready(max(1.0, deadline - time.monotonic()))
        before = self._tree()
        if self.mirror is not None:
            await self.mirror.catch_up()  # old lines must not look new to `_begin_turn`
        turn = self._begin_turn()
        started = time.time()
        self._set_state("busy", "prompt sent")
        await self.pane.paste(prompt)
        await self.pane.keys("Enter")
        result = await self._complete_turn(turn, deadline)
        result.started = started
        result.finished = time.time()
        self._check_tree(before)
        self._set_state("ready")
        return self._finish(result)

    # -- the pane --------------------------------------------------------------------------

    async def _open_pane(
        self,
        argv: Sequence[str],
        metadata: Mapping[str, str],
        adopt: Callable[[LaneWindow], bool],
    ) -> RelayPane:
        """Open the lane's window, or adopt a live one `adopt` accepts."""
        if self.relay is None:
            raise HarnessError(f"{self._where()}: interactive mode needs a tmux relay")
        pane, self.adopted = await open_relay_pane(
            self.relay,
            self.session,
            self.spec.lane,
            argv,
            self.remote_env() if self.remote is not None else self.env,
            self._cwd,
            dict(metadata),
            adopt=adopt,
        )
        self.pane = pane
        return pane

    async def _screen(self) -> ScreenT:
        assert self.pane is not None
        return self.classify(await self.pane.capture())

    async def _dead_error(self) -> HarnessError:
        """The error for a CLI that exited, with the last lines of its screen."""
        assert self.pane is not None
        try:
            screen = (await self.pane.capture()).strip()
        except Exception:  # the pane may be gone with its process
            screen = ""
        self._set_state("failed", f"{self.program} exited")
        tail = "\n".join(screen.splitlines()[-8:])
        return HarnessError(f"{self._where()}: {self.program} exited. Last screen:\n{tail}")

    async def _wait_ready(self, within: float, *, running: bool = False) -> None:
        """Wait for the CLI's input box. `running` (an adopted pane): a turn or a dialog
        on screen counts as up too. Waiting for the input box there held an adopting `send
        --defer-if-busy` past its own --timeout, and a turn longer than `within` failed
        the start, which stopped the pane with its turn; whether the CLI is idle is
        `wait_idle`'s question, under the sender's deadline."""
        assert self.pane is not None
        pane = self.pane
        up = ("ready", "busy", "waiting-permission") if running else ("ready",)

        async def probe() -> bool | None:
            if not await pane.alive():
                raise await self._dead_error()
            scr = await self._screen()
            if scr.state == "setup-blocked":
                self._set_state("failed", "setup dialog")
                raise SetupBlocked(f"{self._where()}: {scr.detail}")
            return True if scr.state in up else None

        await poll_until(
            probe, within=within, what=f"{self._where()}: waiting for ready", pane=pane
        )

    async def wait_idle(self, timeout: float, on_busy: Callable[[], None] | None = None) -> bool:
        """Wait until the CLI's screen classifies as ready (its input box, no turn and no
        dialog on screen), re-checked whenever the pane redraws. A permission dialog
        counts as busy: it waits for a person, never for laneboard. A headless lane has
        no screen and each run is inside the lane lock, so it is idle."""
        if self.headless or self.pane is None:
            return True
        pane = self.pane
        told = False

        async def probe() -> bool | None:
            nonlocal told
            if not await pane.alive():
                return True  # `send` reports the exit
            if (await self._screen()).state == "ready":
                return True
            if not told and on_busy is not None:
                told = True
                on_busy()
            return None

        try:
            await poll_until(probe, within=timeout, what=f"{self._where()}: busy", pane=pane)
        except HarnessTimeout:
            return False
        return True

    async def _confirm_submit(
        self, started: Callable[[], Awaitable[bool]], waits: tuple[float, float], where: str
    ) -> None:
        """Wait until `started()` says the turn began; press Enter once more if not.

        A swallowed submit key is the classic failure of tmux-driven agents: the prompt
        then sits in the input box. `waits` bounds the first and the second wait.
        """
        assert self.pane is not None
        for attempt, within in enumerate(waits, start=1):
            limit = time.monotonic() + within
            while time.monotonic() < limit:
                if await started():
                    self._turn_started()
                    return
                if not await self.pane.alive():
                    raise await self._dead_error()
                await pause(self.pane)
            if attempt == 1:
                log.info("submit not seen; pressing Enter again", extra={"lane": self.spec.lane})
                await self.pane.keys("Enter")
        self._set_state("ready")
        raise HarnessError(
            f"{self._where()}: the prompt was pasted but the turn never started (Enter sent "
            f"twice); the text may still sit in the {where}"
        )

    async def refuse_or_wait(
        self, *, what: str, command: str | None, dialog: str, label: str
    ) -> bool:
        """Answer a permission dialog; True when laneboard refused it (Escape).

        The command the dialog names (or, when none could be read, the dialog's text) is
        checked against `spec.deny`; a hit, or any dialog in a fenced lane, is refused
        with Escape and an `ErrorRaised(kind="fence")` event. Anything else leaves the
        lane "waiting" for a person. laneboard never answers yes.
        """
        assert self.pane is not None
        pane = self.pane
        subject = command or dialog
        hit = self.deny.match(subject) if subject else None
        if hit is None and not self.fenced:
            self._set_state("waiting", f"{label}: {what}".strip())
            return False
        reason = (
            f"matches deny pattern {hit.pattern!r} ({hit.matched})"
            if hit is not None
            else f"the lane's fence is {self.spec.fence}"
        )
        message = f"{self._where()}: refused {label} for {what!r}: {reason}"
        self.hub.publish(ErrorRaised(self.spec.lane, "fence", message))
        await pane.keys("Escape")

        async def gone() -> bool | None:
            scr = self.classify(await pane.capture())
            return None if scr.state == "waiting-permission" else True

        await poll_until(
            gone, within=10.0, what=f"{self._where()}: dismissing a {label}", pane=pane
        )
        return True

    async def output_stream(self) -> PaneStream | None:
        """The pane's live output (interactive lanes on the relay), for the supervisor's
        degenerate-output watchdog: these CLIs redraw a full screen, so the harness
        itself reads answers from transcripts, not from this stream."""
        if isinstance(self.pane, RelayPane):
            return await self.pane.relay.stream(self.pane.pane_id)
        return None

    # -- control ---------------------------------------------------------------------------

    async def interrupt(self) -> None:
        """Escape in the pane (interrupts a busy turn); kills a headless run."""
        if self._run is not None:
            await self._run.kill()
        elif self.pane is not None:
            await self.pane.keys("Escape")

    async def _mirror_transcript(self, remote_path: str) -> None:
        """Mirror the remote lane's transcript at `remote_path` (on its host) here."""
        assert self.remote is not None
        if self.mirror is not None:
            await self.mirror.close()
        self.mirror = await RemoteMirror(self.remote.link, remote_path,
                                         label=self.spec.lane).start()

    async def detach(self) -> None:
        """Let go of a remote lane's transcript mirror; the lane keeps running."""
        mirror, self.mirror = self.mirror, None
        if mirror is not None:
            await mirror.close()

    async def stop(self) -> None:
        """Kill the pane or the headless process (transcripts stay on disk)."""
        await self.detach()
        if self._run is not None:
            await self._run.kill()
        if self.pane is not None:
            await self.pane.close()
            self.pane = None
        self._set_state("stopped")
        self.hub.close()

    async def health(self) -> Health:
        if self.pane is not None:
            alive = await self.pane.alive()
            return Health(alive, await self.pane.pid(), "" if alive else f"{self.program} exited")
        if self._run is not None:
            return Health(True, self._run.pid, self.run_label)
        return Health(self.headless, None, "headless" if self.headless else "not started")
