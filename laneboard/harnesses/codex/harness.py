"""The codex harness: Codex CLI (pinned 0.169.0) as `codex exec --json`, or in a tmux pane.

Exec (`mode="exec"`): one `codex exec` per prompt, stdin closed, the prompt after `--` (a
prompt equal to a subcommand name would otherwise run that subcommand), JSONL events parsed
by `codex.events`, the last message from the `-o` file. The fence compiles into
`--sandbox` (read-only / workspace-write / danger-full-access) with approvals off
(`approval_policy="never"`), so Codex's own sandbox enforces it and nothing ever asks to
escalate. If the sandbox cannot start, the lane fails with that reason: laneboard never
retries with a looser sandbox. An unreachable endpoint makes exec reconnect forever, so
every run has its own deadline, and a run that has seen nothing but "waiting for network"
notices for `unreachable_after` seconds is stopped as ProviderError(kind="unreachable").

Interactive (`mode="interactive"`): `codex` in a tmux pane with the same sandbox and
`-a never`; readiness and busy/idle from the screen (`codex.screen`), the answer from the
rollout file (`task_complete.last_agent_message`). Codex reads fast keystrokes as a paste
burst, so prompts go in by bracketed paste, then Enter, then a check that the turn started
(busy screen or `task_started`), and one more Enter if not.

Approvals are off, so Codex should never ask; if an approval dialog shows anyway, it is
refused (Escape and an `ErrorRaised(kind="fence")` event) in a fenced lane or when its
command matches `spec.deny` (tokenised, see `laneboard.harnesses.deny`), and otherwise
left for the person at the cockpit. The shared plumbing (pane, ready wait, tree check,
dialogs, control) is `agent_cli.AgentCliHarness`; the command lines are `codex.launch`.

State lives in CODEX_HOME: the lane's `env` may set it; a lane with its own `base_url`
gets an isolated home (its provider needs no login); otherwise the user's `~/.codex` (and
its login) is seen through a private overlay home. Trust is pre-seeded only in isolated
homes (`seed_isolated_home`).

`fences.deny` is enforced by Codex itself: approvals are off, so no dialog would ever
reach laneboard's matcher, and the entries are compiled into execpolicy rules
(`codex.rules`) in the lane's own home (isolated, or the overlay), written at every
harness start. The person's `~/.codex` is never written.

A lane with `host:` runs codex on that host (binary there, exec over the link, the pane
in the host's tmux); its CODEX_HOME, rollouts and `-o` files are there too, handled by
`codex.remote` (rollouts mirrored here by `remote_files.RemoteMirror`, so the turn logic
reads them as local files).

Why this is long (~518 lines): exec and interactive share the home, rules and sandbox
handling and the state a turn needs, and the host-side halves are thin wrappers over
`codex.remote`; splitting the turn logic by mode would duplicate that state.

Raises: BinaryMissing, SetupBlocked (trust or sign-in screen), ProviderError (kind from the
failure message), HarnessTimeout, FenceViolation (a fenced lane changed the tree, or the
sandbox could not start), HarnessError (bad config, the CLI exited).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from laneboard.errors import HarnessError, HarnessTimeout, SetupBlocked
from laneboard.harnesses import mcp_attach
from laneboard.harnesses.agent_cli import AgentCliHarness
from laneboard.harnesses.agent_pane import pause
from laneboard.harnesses.base import (
    ErrorRaised,
    HarnessSpec,
    OutputReceived,
    TurnResult,
    Usage,
    binary_of,
)
from laneboard.harnesses.codex import events as codex_events
from laneboard.harnesses.codex import remote as codex_remote
from laneboard.harnesses.codex import rules as codex_rules
from laneboard.harnesses.codex import screen as codex_screen
from laneboard.harnesses.codex.launch import (
    INSTALL_HINT,
    SANDBOX_FAILURE_MARKERS,
    SANDBOX_OF_FENCE,
    ProviderOption,
    build_exec_argv,
    build_interactive_argv,
    default_state_dir,
    read_model_upgrades,
    seed_isolated_home,
)
from laneboard.harnesses.jsonl import JsonlTail
from laneboard.harnesses.remote_conductor import RemoteConductor
from laneboard.harnesses.tmux import LaneWindow, TmuxRelay

log = logging.getLogger(__name__)

#: One interactive turn: the rollout file's tail and what has been read from it.
CodexTurn = tuple[JsonlTail, codex_events.RolloutTurn]


class CodexHarness(AgentCliHarness[CodexTurn, codex_screen.CodexScreen]):
    """Drives one Codex lane (see the module docstring).

    `relay`/`session`: laneboard's tmux relay and workspace session (interactive lanes);
    `provider_options` adds keys to the provider table (tests set `request_max_retries=0`,
    `stream_max_retries=0`); `unreachable_after` bounds a run that only reconnects;
    `state_dir` is where isolated homes are made.
    """

    kind = "codex"
    program = binary_of("codex")
    install_hint = INSTALL_HINT
    run_label = "exec run"

    def __init__(
        self,
        spec: HarnessSpec,
        *,
        relay: TmuxRelay | None = None,
        session: str = "laneboard",
        binary: str = binary_of("codex"),
        provider_options: Mapping[str, ProviderOption] | None = None,
        unreachable_after: float = 30.0,
        ready_timeout: float = 60.0,
        state_dir: Path | None = None,
        env_base: Mapping[str, str] | None = None,
    ) -> None:
        env = dict(os.environ if env_base is None else env_base)
        env.update(spec.env)
        self.isolated = False
        lane_dir = codex_remote.lane_dir(spec.lane)
        if "CODEX_HOME" not in spec.env and spec.base_url:
            home = (state_dir or default_state_dir()) / lane_dir
            home.mkdir(parents=True, exist_ok=True)
            env["CODEX_HOME"] = str(home)
            self.isolated = True
        elif "CODEX_HOME" in spec.env:
            self.isolated = True
        user_home = Path(env.get("HOME") or Path.home()) / ".codex"
        if self.isolated and _same_dir(Path(env["CODEX_HOME"]), user_home):
            self.isolated = False  # the lane names the person's own home: never write there
        self.rules_file = _install_rules(spec, env, self.isolated, user_home, state_dir, lane_dir)
        super().__init__(
            spec,
            relay=relay,
            session=session,
            binary=binary,
            ready_timeout=ready_timeout,
            env=env,
        )
        self.provider_options = dict(provider_options or {})
        self.unreachable_after = unreachable_after
        self.codex_home = Path(
            env.get("CODEX_HOME") or Path(env.get("HOME") or Path.home()) / ".codex"
        )
        self._rollout: Path | None = None
        self._started_at = time.time()
        self._remote_home: str | None = None
        self._conductor: RemoteConductor | None = None
        self._conductor_token: str | None = None

    # -- common ----------------------------------------------------------------------

    def classify(self, screen: str) -> codex_screen.CodexScreen:
        return codex_screen.classify(screen)

    def own_dirs(self) -> Iterable[Path]:
        return (self.codex_home,)

    async def _start_pane(self, path: str) -> None:
        """Codex in the lane's pane (its home seeded when isolated, model upgrades read
        first); a running pane of the same fence and home is adopted."""
        if self.relay is None:
            raise HarnessError(f"{self._where()}: interactive mode needs a tmux relay")
        if self.isolated:
            seed_isolated_home(self.codex_home, self._cwd)
        spec, python = self.spec, None
        if self.remote is not None:
            await self._prepare_remote_home()  # the seeded config.toml goes along
            upgrades = (
                await codex_remote.model_upgrades(self.remote, path) if self.spec.model else {}
            )
            spec, python = await self._remote_conductor()
        else:
            upgrades = (
                await read_model_upgrades(path, self.env) if self.spec.model else {}
            )
        argv = build_interactive_argv(
            spec, binary=path, provider_options=self.provider_options,
            model_upgrades=upgrades, remote_python=python,
        )  # fmt: skip
        self._started_at = time.time()
        meta = {
            "harness": self.kind,
            "model": self.spec.model or "",
            "fence": self.spec.fence,
            "codex_home": self._remote_home or str(self.codex_home),
        }

        def adoptable(window: LaneWindow) -> bool:
            return (
                window.harness == self.kind
                and window.metadata.get("fence") == self.spec.fence
                and window.metadata.get("codex_home") == meta["codex_home"]
            )

        pane = await self._open_pane(argv, meta, adoptable)
        if self.adopted:
            self._started_at = float(pane.window.metadata.get("created") or 0.0)
        if self.remote is not None:  # an adopted lane's rollout exists: mirror it now
            await self._find_remote_rollout()

    # -- exec ------------------------------------------------------------------------

    async def send_headless(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """One `codex exec --json` run, its events published, a TurnResult at the end."""
        path = await self._program()
        before = self._tree()
        started = time.time()
        self._set_state("busy", "exec run")
        with tempfile.TemporaryDirectory(prefix="laneboard-codex-") as tmp:
            out_file = os.path.join(tmp, "last-message.txt")
            spec, python = self.spec, None
            if self.remote is not None:
                out_file = await self._remote_out_file()
                spec, python = await self._remote_conductor()
            argv = build_exec_argv(
                spec,
                output_file=out_file,
                prompt=prompt,
                binary=path,
                provider_options=self.provider_options,
                remote_python=python,
            )
            outcome = codex_events.ExecOutcome()
            try:
                code, stderr = await self._run_exec(argv, outcome, seconds=timeout)
            finally:
                self._run = None
                self._set_state("ready")
            last = await self._read_answer(out_file)
        self._check_sandbox(outcome)
        if outcome.failure is not None:
            raise codex_events.provider_error(outcome.failure, self._where())
        if code != 0 or not outcome.completed:
            tail = "\n".join(stderr.strip().splitlines()[-6:])
            raise HarnessError(
                f"{self._where()}: codex exec exited with {code}: {tail or '(no output)'}"
            )
        self._check_tree(before)
        result = TurnResult(
            reply=last or outcome.final_message,
            usage=outcome.usage or Usage(),
            model=self.spec.model,
            started=started,
            finished=time.time(),
            extra={
                "thread_id": outcome.thread_id,
                "exit_code": code,
                "commands": [c.command for c in outcome.commands],
                "file_changes": list(outcome.file_changes),
            },
        )
        return self._finish(result)

    async def _run_exec(
        self, argv: list[str], outcome: codex_events.ExecOutcome, *, seconds: float
    ) -> tuple[int, str]:
        deadline = time.monotonic() + seconds
        offline_since: float | None = None
        async with self._headless_run(argv) as run:
            self._run = run
            self._turn_started()  # the prompt is in the process's argv
            lines = run.lines(deadline).__aiter__()
            while True:
                wait_until = deadline
                if offline_since is not None:
                    wait_until = min(deadline, offline_since + self.unreachable_after)
                try:
                    line = await asyncio.wait_for(
                        lines.__anext__(), timeout=max(0.01, wait_until - time.monotonic())
                    )
                except StopAsyncIteration:
                    break
                except (TimeoutError, HarnessTimeout) as exc:
                    await run.kill()
                    if outcome.only_reconnects or offline_since is not None:
                        raise codex_events.provider_error(
                            outcome.notices[-1] if outcome.notices else "no answer", self._where()
                        ) from exc
                    raise HarnessTimeout(
                        f"{self._where()}: codex exec gave no result within {seconds:.0f}s; "
                        "stopped it"
                    ) from exc
                for note in outcome.feed(line):
                    offline_since = self._publish_note(note, offline_since)
            code = await run.wait()
            return code, run.stderr_text

    # -- a lane on another host (see the module docstring) ---------------------------

    def remote_env(self) -> dict[str, str]:
        env = super().remote_env()
        if self._remote_home is not None:
            env["CODEX_HOME"] = self._remote_home
        if self._conductor_token is not None:  # never argv on the host: see remote_conductor
            env[mcp_attach.TOKEN_ENV] = self._conductor_token
        return env

    async def _remote_conductor(self) -> tuple[HarnessSpec, str | None]:
        """The spec and interpreter for the host's `laneboard mcp` (`remote_conductor`);
        a lane that cannot have it says so once, as its last error and in the log."""
        assert self.remote is not None
        if self._conductor is None:
            self._conductor = RemoteConductor(self.remote)
        spec, python = await self._conductor.attach(self.spec)
        note = self._conductor.say_once()
        if note is not None:
            self.hub.publish(ErrorRaised(self.spec.lane, "conductor", note))
        self._conductor_token = spec.lane_token if python is not None else None
        return spec, python

    async def _prepare_remote_home(self) -> str:
        """The lane's CODEX_HOME on its host, prepared once per harness (`codex.remote`)."""
        assert self.remote is not None
        if self._remote_home is None:
            self._remote_home = await codex_remote.prepare_home(
                self.remote, lane=self.spec.lane, local_home=self.codex_home,
                isolated=self.isolated, env_home=self.spec.env.get("CODEX_HOME"),
                where=self._where(),
            )  # fmt: skip
        return self._remote_home

    async def _find_remote_rollout(self) -> None:
        """The lane's newest rollout on the host since it started, mirrored here from then
        on (`remote_files.RemoteMirror`)."""
        assert self.remote is not None
        home = await self._prepare_remote_home()
        found = await codex_remote.newest_rollout(self.remote, home, self._started_at - 1)
        if found is not None:
            await self._mirror_transcript(found)
            self._rollout = self.mirror.path if self.mirror is not None else None

    async def _remote_out_file(self) -> str:
        assert self.remote is not None
        await self._prepare_remote_home()
        return await codex_remote.out_file(self.remote)

    async def _read_answer(self, out_file: str) -> str:
        """The `-o` file's text ("" when exec never wrote it): here, or on the host."""
        if self.remote is None:
            return await asyncio.to_thread(_read_or_empty, out_file)
        return await codex_remote.read_answer(self.remote, out_file, lane=self.spec.lane)

    def _publish_note(
        self, note: codex_events.CodexNote, offline_since: float | None
    ) -> float | None:
        lane = self.spec.lane
        if note.kind == "message":
            self.hub.publish(OutputReceived(lane, note.text + "\n"))
        elif note.kind == "command":
            out = str(note.data.get("aggregated_output") or "")
            self.hub.publish(OutputReceived(lane, f"$ {note.text}\n{out}"))
        elif note.kind == "file-change":
            self.hub.publish(OutputReceived(lane, f"[files] {note.text}\n"))
        elif note.kind == "notice":
            kind, _ = codex_events.error_kind(note.text)
            log.info("codex notice", extra={"lane": lane, "notice": note.text})
            if kind == "unreachable":
                return offline_since or time.monotonic()
        elif note.kind == "failed":
            kind, _ = codex_events.error_kind(note.text)
            self.hub.publish(ErrorRaised(lane, kind, note.text))
        if note.kind in ("message", "command", "file-change", "reasoning", "usage"):
            return None
        return offline_since

    def _check_sandbox(self, outcome: codex_events.ExecOutcome) -> None:
        """A sandbox that could not start fails the lane (never a looser retry)."""
        texts = [c.output for c in outcome.commands] + outcome.item_errors
        for text in texts:
            for marker in SANDBOX_FAILURE_MARKERS:
                if marker in text:
                    line = next((ln for ln in text.splitlines() if marker in ln), marker)
                    self._fence_failure(
                        f"{self._where()}: the {SANDBOX_OF_FENCE[self.spec.fence]} sandbox "
                        f"could not start ({line.strip()}); laneboard will not loosen the "
                        "fence — install bubblewrap / enable user namespaces, or change the lane"
                    )

    # -- interactive -----------------------------------------------------------------

    def _begin_turn(self) -> CodexTurn:
        tail = JsonlTail(self._rollout)
        tail.mark_end()
        return tail, codex_events.RolloutTurn()

    async def _complete_turn(self, turn: CodexTurn, deadline: float) -> TurnResult:
        """The rollout's answer (`task_complete.last_agent_message`) once the turn ended."""
        tail, view = turn
        await self._verify_submitted(tail, view)
        return await self._await_turn_end(tail, view, deadline)

    async def _pump_async(self, tail: JsonlTail, turn: codex_events.RolloutTurn) -> None:
        """`_pump`, after looking for a remote lane's rollout on its host."""
        if self.remote is not None and self.mirror is None:
            await self._find_remote_rollout()
        if self.mirror is not None and tail.path is None:
            tail.path = self.mirror.path
        self._pump(tail, turn)

    def _pump(self, tail: JsonlTail, turn: codex_events.RolloutTurn) -> None:
        if tail.path is None and self.remote is not None:
            return  # found on the host by `_pump_async`
        if tail.path is None:
            found = codex_events.find_rollout(self.codex_home, newer_than=self._started_at - 1)
            if found is None:
                return
            self._rollout = tail.path = found
        for rec in tail.read_new():
            turn.add(rec)

    async def _verify_submitted(self, tail: JsonlTail, turn: codex_events.RolloutTurn) -> None:
        """Busy screen or `task_started` proves the submit; else press Enter once more."""

        async def started() -> bool:
            await self._pump_async(tail, turn)
            scr = await self._screen()
            if turn.started or turn.complete or scr.state in ("busy", "waiting-permission"):
                return True
            return scr.state == "ready" and scr.finished_ok and not scr.composer  # a fast turn

        await self._confirm_submit(started, (3.0, 8.0), "composer")

    async def _await_turn_end(
        self, tail: JsonlTail, turn: codex_events.RolloutTurn, deadline: float
    ) -> TurnResult:
        assert self.pane is not None
        idle_since: float | None = None
        escaped = False
        while True:
            await self._pump_async(tail, turn)
            if turn.error is not None and not turn.complete:
                idle_since = idle_since or time.monotonic()
            if turn.complete:
                if turn.error is not None and not turn.last_message:
                    raise codex_events.provider_error(turn.error, self._where())
                return TurnResult(
                    reply=turn.last_message or "",
                    state="interrupted" if escaped else "done",
                    usage=turn.usage or Usage(),
                    model=self.spec.model,
                    extra={"rollout": str(self._rollout) if self._rollout else None},
                )
            if turn.aborted is not None:
                return TurnResult(
                    reply=turn.last_message or "",
                    state="interrupted",
                    usage=turn.usage or Usage(),
                    model=self.spec.model,
                    extra={"aborted": turn.aborted},
                )
            if not await self.pane.alive():
                raise await self._dead_error()
            scr = await self._screen()
            if scr.state == "setup-blocked":
                raise SetupBlocked(f"{self._where()}: {scr.detail}")
            if scr.state == "waiting-permission":
                escaped = await self._on_dialog(scr) or escaped
            elif scr.state == "busy":
                idle_since = None
                self._set_state("busy")
            elif scr.state == "ready":
                # Codex hides its busy line while it streams an answer, so a ready screen
                # ends the turn only when the rollout cannot say (not found yet, or an
                # error) or the screen shows a `■` error/interruption line.
                idle_since = idle_since or time.monotonic()
                rollout_says_running = turn.started and turn.error is None and not scr.error
                if time.monotonic() - idle_since > 2.0 and not rollout_says_running:
                    message = turn.error or scr.error
                    if message and codex_screen.INTERRUPTED not in message:
                        raise codex_events.provider_error(message, self._where())
                    return TurnResult(
                        reply=turn.last_message or "",
                        state="interrupted",
                        usage=turn.usage or Usage(),
                        model=self.spec.model,
                    )
            if time.monotonic() >= deadline:
                await self.interrupt()
                raise HarnessTimeout(
                    f"{self._where()}: the turn did not end before the deadline; interrupted it"
                )
            await pause(self.pane)

    async def _on_dialog(self, scr: codex_screen.CodexScreen) -> bool:
        """Refuse an approval in a fenced lane or for a denied command; else wait for a person."""
        return await self.refuse_or_wait(
            what=scr.command or scr.detail,
            command=scr.command,
            dialog=scr.dialog,
            label="approval",
        )


def _install_rules(
    spec: HarnessSpec,
    env: dict[str, str],
    isolated: bool,
    user_home: Path,
    state_dir: Path | None,
    lane_dir: str,
) -> Path:
    """`fences.deny` as Codex execpolicy rules in a home laneboard owns (see
    `codex.rules`): the lane's isolated home, or else a private overlay of the
    person's `~/.codex`, which then becomes the lane's CODEX_HOME. Approvals are off,
    so these rules are what stands between the model and a denied command."""
    try:
        if isolated:
            home = Path(env["CODEX_HOME"])
        else:
            overlay = (state_dir or default_state_dir()) / "overlays" / lane_dir
            home = codex_rules.overlay_home(user_home, overlay)
            env["CODEX_HOME"] = str(home)
        return codex_rules.write_rules(home, spec.deny, home=env.get("HOME"))
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"lane {spec.lane!r}: cannot install the fences.deny execpolicy rules "
            f"({exc}); laneboard will not start a codex lane without them"
        ) from exc


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.expanduser().resolve() == b.expanduser().resolve()
    except OSError:
        return False


def _read_or_empty(path: str) -> str:
    """The `-o` file's text; "" when exec never wrote it (it is created empty on failure)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
