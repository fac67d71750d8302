"""The claude-code harness: Claude Code (pinned 2.1.328) in a tmux pane, or headless.

Interactive (`mode="interactive"`): `claude` runs in a pane on laneboard's tmux socket with
`--session-id`, so its transcript path is known before the first prompt. Readiness,
dialogs and busy/idle come from the screen (`claude.screen`); the answer, usage and API
errors come from the transcript (`claude.transcript`), because the alternate screen keeps
no scrollback.

Headless (`mode="exec"`, or `send_headless` on any lane): `claude -p --output-format
stream-json --verbose`, stdin closed, the prompt after `--`, its own deadline.

Fences compile into Claude Code's own flags (`build_argv`). Plan mode is a UI mode, not a
sandbox, so a plan/read-only lane gets defence in depth: `--permission-mode plan`, only the
read tools (`--tools Read,Grep,Glob`), the writing and dialog tools disallowed,
`--restricted` (ignores user/project/local settings, so the repository under review cannot
inject allow rules or hooks) and `--strict-mcp-config` (no MCP servers from the repo), and
after every turn a check that the working tree is unchanged (`FenceViolation`).
`fences.deny` is enforced twice: `--disallowed-tools "Bash(<entry>:*)"` prefix rules, and a
PreToolUse hook answered by laneboard's own matcher that sees the whole command
(`claude.hooks`; passed with `--settings <private file>`, never by editing the person's
settings).
laneboard never answers a permission or trust dialog with yes: a dialog in a fenced lane,
or one naming a command that matches `spec.deny` (tokenised: `rm  -rf /`, `sudo rm -fr /`
and `bash -c "rm -rf /"` all match `rm -rf /`; see `laneboard.harnesses.deny`), is answered
with Escape and an `ErrorRaised(kind="fence")` event; others leave the lane "waiting" for
the person at the cockpit. Never `--dangerously-skip-permissions`. The shared plumbing
(pane, ready wait, tree check, dialogs, control) is `agent_cli.AgentCliHarness`; the
command line, environment and config dir are `claude.launch`.

A lane with `host:` runs `claude -p` on that host (`agent_cli`: binary looked up there,
the run over the link, only the lane's own env and its endpoint/key variables sent). The
fence hook must run THERE too: its settings and deny list are written into a private
directory on the host, with the hook run by an interpreter on the host that has laneboard
(the lane env's LANEBOARD_PYTHON, else this interpreter's path, else `python3`, each
tried there). With no such interpreter a lane with a deny list does not start: it would
run with its deny list unenforced. A lane there that may delegate gets `laneboard mcp`
THERE (`remote_conductor`: an interpreter on the host with laneboard, the control socket
forwarded to the host by the relays); its `--mcp-config` (holding the lane token) is a
0600 file in the same private directory, and without laneboard there the lane starts
without the tools and says so once.

Raises: BinaryMissing (no `claude`), SetupBlocked (trust / API-key / onboarding dialog),
ProviderError (API error; kind from the HTTP status), HarnessTimeout (a deadline passed),
FenceViolation (a fenced lane changed the tree), HarnessError (the CLI exited).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from laneboard.errors import HarnessError, HarnessTimeout, SetupBlocked
from laneboard.harnesses.agent_cli import AgentCliHarness
from laneboard.harnesses.agent_pane import pause, poll_until
from laneboard.harnesses.base import (
    ErrorRaised,
    HarnessSpec,
    OutputReceived,
    TurnResult,
    binary_of,
)
from laneboard.harnesses.claude import hooks as claude_hooks
from laneboard.harnesses.claude import screen as claude_screen
from laneboard.harnesses.claude import transcript as claude_transcript
from laneboard.harnesses.claude.launch import (
    INSTALL_HINT,
    build_argv,
    build_env,
    conductor_config,
    config_dir_of,
    default_state_dir,
)
from laneboard.harnesses.claude.transcript import TurnView
from laneboard.harnesses.jsonl import JsonlTail
from laneboard.harnesses.remote_conductor import RemoteConductor
from laneboard.harnesses.tmux import LaneWindow, TmuxRelay
from laneboard.harnesses.watchdog import RepetitionWatchdog

log = logging.getLogger(__name__)

#: One interactive turn: the transcript's tail and what has been read from it.
ClaudeTurn = tuple[JsonlTail, TurnView]


class ClaudeCodeHarness(AgentCliHarness[ClaudeTurn, claude_screen.ClaudeScreen]):
    """Drives one Claude Code lane (see the module docstring for the whole behaviour).

    `relay` is laneboard's tmux relay (needed for interactive lanes) and `session` the
    workspace's tmux session; a live window of this lane started by an earlier laneboard
    process is adopted (its session id is in the window's metadata). `binary` overrides
    the program name; `ready_timeout` bounds the wait for the first ready screen;
    `env_base` replaces the inherited environment (tests).
    """

    kind = "claude-code"
    program = binary_of("claude-code")
    install_hint = INSTALL_HINT
    run_label = "headless run"

    def __init__(
        self,
        spec: HarnessSpec,
        *,
        relay: TmuxRelay | None = None,
        session: str = "laneboard",
        binary: str = binary_of("claude-code"),
        ready_timeout: float = 60.0,
        env_base: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        super().__init__(
            spec,
            relay=relay,
            session=session,
            binary=binary,
            ready_timeout=ready_timeout,
            env=build_env(spec, env_base),
        )
        self.config_dir = config_dir_of(self.env)
        self.session_id = str(uuid.uuid4())
        lane_dir = _lane_dir(spec.lane)
        self.hook_dir = (state_dir or default_state_dir()) / lane_dir
        self._conductor: RemoteConductor | None = None

    def _hook_settings(self) -> str:
        """Write the lane's fence hook settings (private, atomic) and return the file.

        Written at every start and headless run, so a changed deny list applies at once;
        a lane whose hook cannot be written does not start (it would run unfenced)."""
        try:
            args = claude_hooks.settings_args(self.hook_dir, self.spec.deny)
        except OSError as exc:
            raise HarnessError(
                f"{self._where()}: cannot write the fence hook settings in {self.hook_dir} "
                f"({exc}); laneboard will not start a claude lane without them"
            ) from exc
        return args[1]

    # -- a lane on another host (see the module docstring) ---------------------------

    def remote_env(self) -> dict[str, str]:
        """The lane's own env and key (agent_cli), and what `build_env` derives: the base
        URL, the key as ANTHROPIC_API_KEY, nonessential traffic off."""
        env = super().remote_env()
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        if self.spec.base_url and "ANTHROPIC_BASE_URL" in self.env:
            env["ANTHROPIC_BASE_URL"] = self.env["ANTHROPIC_BASE_URL"]
        key = self.spec.api_key_env
        if key and key not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN") and self.env.get(key):
            env["ANTHROPIC_API_KEY"] = self.env["ANTHROPIC_API_KEY"]
        return env

    async def _remote_hook_python(self) -> str | None:
        """An interpreter on the host that can run laneboard's hook, or None."""
        assert self.remote is not None
        for python in (self.spec.env.get("LANEBOARD_PYTHON"), sys.executable, "python3"):
            if not python:
                continue
            rc, _out, _err = await self.remote.link.run(
                [python, "-c", "import laneboard.harnesses.claude.hooks"], timeout=60.0
            )
            if rc == 0:
                return python
        return None

    async def _remote_hook_settings(self) -> str | None:
        """The fence hook's settings file ON THE HOST (deny list beside it), written for
        every run; None when the lane has no deny list and no laneboard runs there."""
        assert self.remote is not None
        python = await self._remote_hook_python()
        if python is None:
            if self.spec.deny:
                raise HarnessError(
                    f"{self._where()}: its fences.deny is enforced by a hook laneboard answers, "
                    f"and no interpreter on host {self.remote.name!r} has laneboard; install "
                    "laneboard there and set LANEBOARD_PYTHON in the lane's env to it. "
                    "laneboard will not run the lane with its deny list unenforced"
                )
            log.warning("lane %s on host %s: no laneboard there, so no PreToolUse hook "
                        "(its deny list is empty)", self.spec.lane, self.remote.name)
            return None
        folder = f"{await self.remote.state_dir()}/claude-hooks/{_lane_dir(self.spec.lane)}"
        await self.remote.make_dir(folder)
        deny_file = f"{folder}/deny.json"
        settings = f"{folder}/settings.json"
        await self.remote.put_file(
            deny_file, json.dumps({"deny": list(self.spec.deny)}, indent=2).encode()
        )
        doc = claude_hooks.settings_doc(Path(deny_file), python)
        await self.remote.put_file(settings, json.dumps(doc, indent=2).encode())
        return settings

    async def _remote_mcp_config(self) -> tuple[str | None, str | None]:
        """(the `--mcp-config` file ON THE HOST, its readiness marker there) for a lane
        that may delegate and has laneboard there; (None, None) otherwise — said once
        when it could not have it (`remote_conductor`)."""
        assert self.remote is not None
        from laneboard.harnesses.mcp_attach import claude_mcp_config

        if self._conductor is None:
            self._conductor = RemoteConductor(self.remote)
        spec, python = await self._conductor.attach(self.spec)
        note = self._conductor.say_once()
        if note is not None:
            self.hub.publish(ErrorRaised(self.spec.lane, "conductor", note))
        if python is None or not spec.control_socket or not spec.lane_token:
            return None, None
        folder = f"{await self.remote.state_dir()}/claude-hooks/{_lane_dir(self.spec.lane)}"
        await self.remote.make_dir(folder)
        path, ready = f"{folder}/mcp.json", f"{folder}/mcp.ready"
        await self.remote.remove_file(ready)  # the last start's: this start waits for its own
        doc = claude_mcp_config(spec.lane, spec.lane_token, python, spec.control_socket,
                                Path(ready))
        await self.remote.put_file(path, json.dumps(doc, indent=1).encode())  # 0600 there
        return path, ready

    async def _wait_remote_ready(self, marker: str) -> bool:
        """`mcp_attach.wait_ready` for a marker on the host (asked over the link)."""
        assert self.remote is not None
        from laneboard.harnesses.mcp_attach import STARTUP_TIMEOUT_S

        remote = self.remote

        async def there() -> bool:
            rc, _out, _err = await remote.link.run(["test", "-e", marker], timeout=10.0)
            return rc == 0

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not await there():
            if time.monotonic() >= deadline:
                return False
            await pause(None)  # polling the marker with a deadline
        return True

    # -- common ----------------------------------------------------------------------

    @property
    def transcript(self) -> Path:
        if self.mirror is not None:  # a remote lane: its transcript as mirrored here
            return self.mirror.path
        return claude_transcript.transcript_path(self.config_dir, self._cwd, self.session_id)

    def remote_transcript(self) -> str:
        """The transcript's path ON THE HOST: under the lane env's CLAUDE_CONFIG_DIR, else
        `.claude` in the login's home there (a relative path is relative to it)."""
        folder = self.spec.env.get("CLAUDE_CONFIG_DIR") or ".claude"
        project = claude_transcript.project_dir_name(self._cwd)
        return f"{folder.rstrip('/')}/projects/{project}/{self.session_id}.jsonl"

    def classify(self, screen: str) -> claude_screen.ClaudeScreen:
        return claude_screen.classify(screen)

    def own_dirs(self) -> Iterable[Path]:
        return (self.config_dir,)

    async def _start_pane(self, path: str) -> None:
        """Claude Code in the lane's pane with a known `--session-id` (so the transcript
        path is known); a running pane of the same fence is adopted with its session."""
        remote_ready: str | None = None
        if self.remote is not None:
            settings = await self._remote_hook_settings()
            mcp, remote_ready = await self._remote_mcp_config()
        else:
            settings = self._hook_settings()
            mcp = conductor_config(self.spec, self.hook_dir)
        argv = build_argv(
            self.spec, session_id=self.session_id, binary=path, settings=settings,
            mcp_config=mcp,
        )
        log.info("starting claude-code lane %s", self.spec.lane, extra={"lane": self.spec.lane})
        meta = {
            "harness": self.kind,
            "model": self.spec.model or "",
            "session_id": self.session_id,
            "fence": self.spec.fence,
        }

        def adoptable(window: LaneWindow) -> bool:
            ok = (
                window.harness == self.kind
                and bool(window.metadata.get("session_id"))
                and window.metadata.get("fence") == self.spec.fence
            )
            if ok:
                self.session_id = window.metadata["session_id"]
            return ok

        await self._open_pane(argv, meta, adoptable)
        if mcp is not None and not self.adopted:  # a first prompt must see laneboard's tools
            from laneboard.harnesses.mcp_attach import wait_ready

            ready = (await self._wait_remote_ready(remote_ready) if remote_ready is not None
                     else await wait_ready(mcp))
            if not ready:
                log.warning("claude-code lane %s: laneboard's MCP server did not list its "
                            "tools in time; the lane may not see them at first", self.spec.lane)
        if self.adopted:
            log.info("adopted running claude-code lane %s", self.spec.lane)
        if self.remote is not None:  # the session id is final now (adoption may change it)
            await self._mirror_transcript(self.remote_transcript())

    # -- interactive turn ------------------------------------------------------------

    def _begin_turn(self) -> ClaudeTurn:
        tail = JsonlTail(self.transcript)
        tail.mark_end()
        return tail, TurnView()

    async def _complete_turn(self, turn: ClaudeTurn, deadline: float) -> TurnResult:
        """The transcript's answer once the turn has ended."""
        tail, view = turn
        seen_busy = await self._verify_submitted(tail, view)
        return await self._await_turn_end(tail, view, seen_busy, deadline)

    def _pump(self, tail: JsonlTail, turn: TurnView) -> None:
        if tail.path is None or not tail.path.exists():
            tail.path = self.transcript
        for rec in tail.read_new():
            for refusal in claude_hooks.hook_refusals(rec):
                self.hub.publish(ErrorRaised(self.spec.lane, "fence", refusal))
            before = len(turn.texts)
            turn.add(rec)
            for text in turn.texts[before:]:
                self.hub.publish(OutputReceived(self.spec.lane, text + "\n"))

    async def _verify_submitted(self, tail: JsonlTail, turn: TurnView) -> bool:
        """Wait until the transcript has the prompt or the screen went busy (Enter is
        pressed once more if not); returns whether the busy screen was seen."""
        seen_busy = False

        async def started() -> bool:
            nonlocal seen_busy
            self._pump(tail, turn)
            scr = await self._screen()
            if scr.state == "setup-blocked":
                raise SetupBlocked(f"{self._where()}: {scr.detail}")
            seen_busy = scr.state == "busy"
            return turn.prompt_seen or scr.state in ("busy", "waiting-permission")

        await self._confirm_submit(started, (4.0, 8.0), "input box")
        return seen_busy

    async def _await_turn_end(
        self, tail: JsonlTail, turn: TurnView, seen_busy: bool, deadline: float
    ) -> TurnResult:
        assert self.pane is not None
        idle_since: float | None = None
        escaped = False
        while True:
            self._pump(tail, turn)
            if turn.failed:
                await self._settle_after_error()
                self._set_state("ready")
                raise claude_transcript.provider_error(
                    turn.api_error or "API error", turn.api_status, self._where()
                )
            if turn.finished:
                return self._result(turn, "interrupted" if escaped else "done")
            if not await self.pane.alive():
                raise await self._dead_error()
            scr = await self._screen()
            if scr.state == "setup-blocked":
                raise SetupBlocked(f"{self._where()}: {scr.detail}")
            if scr.state == "waiting-permission":
                escaped = await self._on_dialog(scr, turn) or escaped
                idle_since = None
            elif scr.state == "busy":
                seen_busy = True
                idle_since = None
                self._set_state("busy")
            elif scr.state == "ready" and (seen_busy or turn.prompt_seen):
                # busy → ready: the turn ended. Give the transcript a moment to flush its
                # turn_duration / error record before trusting the screen alone.
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 2.0:
                    if scr.api_error:
                        self._set_state("ready")
                        raise claude_transcript.provider_error(scr.api_error, None, self._where())
                    state = "done" if (scr.finished_ok and not escaped) else "interrupted"
                    return self._result(turn, state)
            if time.monotonic() >= deadline:
                await self.interrupt()
                self._set_state("ready")
                raise HarnessTimeout(
                    f"{self._where()}: the turn did not end before the deadline; interrupted it"
                )
            await pause(self.pane)

    async def _settle_after_error(self) -> None:
        """After an API error, wait (briefly) for the input box to come back."""
        assert self.pane is not None
        pane = self.pane

        async def probe() -> bool | None:
            return True if claude_screen.state(await pane.capture()) == "ready" else None

        try:
            await poll_until(probe, within=5.0, what="settle", pane=pane)
        except HarnessTimeout:
            log.info("claude-code lane %s: input box not back after an error", self.spec.lane)

    async def _on_dialog(self, scr: claude_screen.ClaudeScreen, turn: TurnView) -> bool:
        """Handle a permission dialog; returns True when laneboard refused it (Escape).

        The command is read from the dialog's Bash box, else taken from the turn's pending
        Bash call in the transcript (Claude Code's auto-mode notice, for one, asks about a
        call without showing it). Without a command, the dialog's text and the pending
        calls' input are what the deny patterns are checked against.
        """
        pending = turn.pending
        command = scr.command
        if command is None:
            bash = [c for c in pending if c.name == "Bash"]
            if bash:
                command = str(bash[-1].input.get("command", "")) or None
        calls = [f"{c.name} {json.dumps(c.input)}" for c in pending if c.name != "Bash"]
        what = command or scr.target or scr.detail or "a tool call"
        refused = await self.refuse_or_wait(
            what=what,
            command=command,
            dialog="\n".join([scr.dialog, *calls]),
            label=f"{scr.dialog_kind or 'tool'} dialog",
        )
        if refused:
            log.warning("refused permission dialog", extra={"lane": self.spec.lane, "what": what})
        return refused

    def _result(self, turn: TurnView, state: str) -> TurnResult:
        return TurnResult(
            reply=turn.reply,
            state="interrupted" if state == "interrupted" else "done",
            usage=turn.usage,
            model=turn.model or self.spec.model,
            extra={
                "session_id": self.session_id,
                "transcript": str(self.transcript),
                "tool_calls": [c.name for c in turn.tool_calls],
            },
        )

    # -- headless --------------------------------------------------------------------

    async def send_headless(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """One `claude -p` run: stream-json parsed into events, a TurnResult at the end."""
        path = await self._program()
        session_id = str(uuid.uuid4())
        if self.remote is not None:
            settings = await self._remote_hook_settings()
            mcp, _ready = await self._remote_mcp_config()
        else:
            settings = self._hook_settings()
            mcp = conductor_config(self.spec, self.hook_dir)
        argv = build_argv(
            self.spec, session_id=session_id, headless=True, binary=path, prompt=prompt,
            settings=settings, mcp_config=mcp,
        )  # fmt: skip
        before = self._tree()
        started = time.time()
        self._set_state("busy", "headless run")
        deadline = time.monotonic() + timeout
        result: claude_transcript.HeadlessResult | None = None
        denials: list[str] = []
        watchdog = RepetitionWatchdog()
        streamed = False
        try:
            async with self._headless_run(argv) as run:
                self._run = run
                self._turn_started()  # the prompt is in the process's argv
                async for line in run.lines(deadline):
                    for note in claude_transcript.parse_stream_line(line):
                        if note.kind == "delta":
                            streamed = True
                            self.hub.publish(OutputReceived(self.spec.lane, note.text))
                            if watchdog.feed(note.text):
                                await run.kill()
                                message = (
                                    f"{self._where()}: degenerate output ({watchdog.reason}); "
                                    "stopped the run"
                                )
                                self.hub.publish(ErrorRaised(self.spec.lane, "watchdog", message))
                                raise HarnessError(message)
                        elif note.kind == "text":
                            if not streamed:
                                self.hub.publish(OutputReceived(self.spec.lane, note.text + "\n"))
                            streamed = False
                        elif note.kind == "denied":
                            denials.append(str(note.data.get("tool_name") or note.text))
                        elif note.kind == "retry":
                            log.info(
                                "claude retrying",
                                extra={
                                    "lane": self.spec.lane,
                                    "status": note.data.get("error_status"),
                                },
                            )
                        elif note.kind == "result":
                            result = claude_transcript.parse_result(note.data)
                code = await run.wait()
                stderr = run.stderr_text
        except HarnessError:
            # a failed one-shot run leaves the lane usable (the next send starts afresh)
            self._set_state("ready", "headless run failed")
            raise
        finally:
            self._run = None
        self._set_state("ready")
        if result is None:
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            raise HarnessError(
                f"{self._where()}: claude -p exited with {code} without a "
                f"result: {tail or '(no output)'}"
            )
        if result.is_error:
            raise claude_transcript.provider_error(
                result.text, result.api_error_status, self._where()
            )
        self._check_tree(before)
        turn = TurnResult(
            reply=result.text,
            usage=result.usage,
            model=result.model or self.spec.model,
            started=started,
            finished=time.time(),
            extra={
                "session_id": result.session_id or session_id,
                "permission_denials": denials
                or [d.get("tool_name") for d in result.permission_denials],
                "exit_code": code,
            },
        )
        return self._finish(turn)


def _lane_dir(lane: str) -> str:
    """The lane's id as one safe directory name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", lane)
