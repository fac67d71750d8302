"""The cockpit App and `make_app`, the one factory the CLI and the tests share.

The App is the TUI's only link to the core: it owns the `Supervisor` connection and runs
every supervisor call in a Textual worker — the event pump (supervisor events → messages
for the main screen), starting lanes, sends (with triage, `laneboard.lanes.dispatch`),
model switches, lifecycle actions, escalations (`laneboard.lanes.escalation`) — so the UI
never waits on tmux. "Attributes down, messages up": screens and the palette post request
messages (`laneboard.tui.messages`, handled here with `@on`) and read what they must know
at once through the `CockpitLink` Protocol (`laneboard.tui.link`), which this class
implements; they never import this module nor touch the supervisor. Results go back down
as messages. Worker failures land in one handler (`on_worker_state_changed`) and become
notifications. Everything a person sees lives in the screens and widgets.

First frame first (issue 8: under 500 ms). The CLI hands `make_app` a *loader* instead of
a loaded config: the app paints its shell at once ("loading…" in the lane list, the prompt
bar already taking keys) and then, in a worker thread, imports the core (the pydantic
config models alone take ~150 ms), loads and checks the config and builds the supervisor
and router (`Core`). Only then are lanes listed, the event pump started and the lanes
started. A config error ends the app with `load_error` set, which the CLI raises as it
always did (exit 2, file:line). Nothing under `laneboard.lanes`, `laneboard.config` or
`laneboard.artifacts` may be imported at module level in this package (importing any of
them loads the config models); tests/tui/test_startup.py holds that.

Why this is long (~540 lines): it is the one place the cockpit meets the core, by design —
every request handler (`@on`) and every worker that calls the supervisor lives here so
screens never do. Splitting them across modules would bring back the screen → app calls
this layout removed; the building of the core parts already lives in `tui.assembly`.

Why a worker for the pump and not `asyncio.ensure_future`: widget writes issued from a
bare task were seen never to repaint (issue 8); a worker runs inside Textual's context.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from laneboard.core.names import workspace_session
from laneboard.tui import messages as m
from laneboard.tui.assembly import (
    AttachRunner,
    Core,
    NotReady,
    PreflightRunner,
    build_core,
    preload_harnesses,
    run_attach,
)
from laneboard.tui.messages import from_event
from laneboard.tui.palette import CockpitPalette
from laneboard.tui.state import LaneInfo
from laneboard.tui.widgets.lane_table import LaneTable

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactStore
    from laneboard.conductor.server import ControlServer
    from laneboard.config import LoadedConfig
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.dispatch import Dispatched
    from laneboard.lanes.mirror import LaneMirrors
    from laneboard.lanes.notify import Notifier
    from laneboard.lanes.published import SupervisorLock
    from laneboard.lanes.router import RouteDecision, Router
    from laneboard.lanes.supervisor import Supervisor
    from laneboard.lanes.triage import TriageVerdict
    from laneboard.tui.link import CockpitLink
    from laneboard.tui.screens.main import MainScreen

log = logging.getLogger(__name__)


class LaneboardApp(App[None]):
    """laneboard's cockpit. Build it with `make_app`."""

    CSS_PATH = "cockpit.tcss"
    TITLE = "laneboard"
    COMMANDS = App.COMMANDS | {CockpitPalette}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "show_help", "Help"),
        Binding("f2", "show_preflight", "Preflight"),
        Binding("f3", "show_artifacts", "Artifacts"),
        Binding("f4", "show_usage", "Usage"),
    ]

    def __init__(
        self,
        core: Core | Callable[[], Core],
        *,
        session: str = "",
        autostart: bool = True,
        motion: bool = True,
        attach_runner: AttachRunner | None = None,
    ) -> None:
        super().__init__()
        self._core: Core | None = core if isinstance(core, Core) else None
        self._build: Callable[[], Core] | None = None if isinstance(core, Core) else core
        self.session = self._core.supervisor.session if self._core is not None else session
        """The lanes' tmux session (a guess from the workspace until the config is loaded)."""
        self.load_error: BaseException | None = None
        """Why the core could not be loaded; the app exits and the CLI raises it."""
        self._artifacts: ArtifactStore | None = None
        self.autostart = autostart
        self.motion = motion
        self.attach_runner: AttachRunner = attach_runner or run_attach
        self._closed = False
        self._mirrors: LaneMirrors | None = None
        self._notifier: Notifier | None = None
        self._lock: SupervisorLock | None = None
        self._control: ControlServer | None = None

    # ------------------------------------------------------------------ the core

    @property
    def ready(self) -> bool:
        """Whether the config is loaded and the supervisor exists."""
        return self._core is not None

    @property
    def core(self) -> Core:
        if self._core is None:
            raise NotReady("the cockpit is still loading its config")
        return self._core

    @property
    def loaded(self) -> LoadedConfig:
        return self.core.loaded

    @property
    def supervisor(self) -> Supervisor:
        return self.core.supervisor

    @property
    def router(self) -> Router:
        return self.core.router

    @property
    def run_preflight(self) -> PreflightRunner:
        return self.core.preflight

    @property
    def owns_supervisor(self) -> bool:
        return self._core is not None and self._core.owns_supervisor

    def require_ready(self) -> bool:
        """True when loaded; otherwise say so (a toast) and return False."""
        if self._core is None:
            self.notify("the cockpit is still loading its config…", title="one moment",
                        severity="warning", timeout=3)
        return self._core is not None

    # ------------------------------------------------------------------ set-up

    def get_default_screen(self) -> Screen[Any]:
        from laneboard.tui.screens.main import MainScreen

        return MainScreen(motion=self.motion)

    @property
    def main_screen(self) -> MainScreen:
        from laneboard.tui.screens.main import MainScreen

        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        self._use_theme()
        self.theme_changed_signal.subscribe(self, lambda _theme: self._use_theme())
        if not self.motion:
            self.animation_level = "none"
        if self._core is not None:
            self._connect()
        else:
            # After the first frame: the core's imports and the config would delay it.
            self.call_after_refresh(self._load_core)

    def _use_theme(self) -> None:
        """Cells built as Rich Text take their colours from this theme (tui/theme.py)."""
        from laneboard.tui.theme import use_theme

        use_theme(self.get_css_variables())

    @work(group="load", exclusive=True, exit_on_error=False)
    async def _load_core(self) -> None:
        """Import the core, load the config, build supervisor and router (in a thread)."""
        assert self._build is not None
        try:
            core = await asyncio.to_thread(self._build)
        except Exception as e:  # a config error (or a bug): the CLI reports it after exit
            from laneboard.errors import LaneboardError

            self.load_error = e
            self.exit(return_code=e.exit_code if isinstance(e, LaneboardError) else 1)
            return
        self._core = core
        self.session = core.supervisor.session
        self._to_screen(m.CoreLoaded())
        self._connect()

    def _connect(self) -> None:
        """The core is here: pump its events to the main screen and start the lanes."""
        self._pump_events()
        if self.autostart:
            # After the next frame: starting lanes imports harness modules and forks tmux.
            self.call_after_refresh(self.start_lanes)

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            self._artifacts = self.core.artifacts()
        return self._artifacts

    def lane_ids(self) -> list[str]:
        return list(self.supervisor.lanes) if self.ready else []

    def lane_info(self, lane: str) -> LaneInfo | None:
        rt = self.supervisor.lanes.get(lane) if self.ready else None
        if rt is None:
            return None
        return LaneInfo.from_runtime(rt, pending_model=rt.pending_model, cfg=self.loaded.config)

    def lane_infos(self) -> list[LaneInfo]:
        return [info for lane in self.lane_ids() if (info := self.lane_info(lane)) is not None]

    def chat_models(self) -> list[str]:
        if not self.ready:
            return []
        return [e.alias or k for k, e in self.loaded.config.models.items() if e.kind == "chat"]

    def triage_lane(self) -> str | None:
        routing = self.loaded.config.routing if self.ready else None
        return routing.triage.lane if routing and routing.triage else None

    def _to_screen(self, message: Message) -> None:
        """Send a fact down to the main screen (the bottom of the stack)."""
        self.screen_stack[0].post_message(message)

    def route(self, text: str, *, untrusted: bool = False) -> RouteDecision:
        """Where `text` would go (pure; raises RouteRefused for untrusted text with no lane)."""
        return self.router.route(text, untrusted=untrusted)

    # ------------------------------------------------------------------ workers

    @work(group="events", exclusive=True, exit_on_error=False)
    async def _pump_events(self) -> None:
        """Supervisor events → Textual messages for the main screen, for the app's life;
        the same events feed the notifier (bell, OSC 9/777, hooks: `lanes.notify`)."""
        from laneboard.lanes.notify import notifier_for

        self._notifier = notifier = notifier_for(self.loaded.config, self._terminal_write)
        async for ev in self.supervisor.subscribe():
            try:
                notifier.handle(ev)
            except Exception:  # a notifier bug must never stop the cockpit's events
                log.exception("notification failed for %r", ev)
            message = from_event(ev)
            if message is not None:
                self._to_screen(message)
            if (isinstance(message, m.TurnFinished) and message.route.get("escalate")
                    and message.result.state == "done"):
                self.store_review(message.lane, message.prompt, message.result, message.route)

    @work(group="mirror", exclusive=True, exit_on_error=False)
    async def mirror_lanes(self, lanes: list[str]) -> None:
        """Mirror the screens of these (visible) lanes where they run a full-screen
        program; stop mirroring the others (a hidden lane costs nothing)."""
        if not self.ready or self._closed:
            return
        if self._mirrors is None:
            from laneboard.lanes.mirror import LaneMirrors

            self._mirrors = LaneMirrors(self.supervisor)
        await self._mirrors.show(lanes)

    @work(group="lanes", exit_on_error=False)
    async def start_lanes(self) -> None:
        """Start or adopt every lane. When `laneboard up` (or another cockpit) already
        supervises this session, adopt its lanes and leave restarts to it."""
        from laneboard.lanes.published import SupervisorHeld, SupervisorLock

        sup = self.supervisor
        if self.owns_supervisor and self._lock is None:
            lock = SupervisorLock(sup.socket, sup.session)
            try:
                lock.acquire()
                self._lock = lock
            except SupervisorHeld as held:
                sup.supervised_by = held.pid or -1
                self.notify(f"pid {held.pid or '?'} already supervises session {sup.session}: "
                            "this cockpit shows and drives its lanes, and leaves restarts to it",
                            title="supervised elsewhere", severity="warning", timeout=8)
        kinds: set[str] = {rt.config.harness for rt in sup.lanes.values()}
        await asyncio.to_thread(preload_harnesses, kinds)  # imports off the UI loop
        if self._lock is not None and self._control is None:
            await self._start_control()  # before the lanes: delegating lanes need its socket
        elif sup.supervised_by is not None:  # beside `up`: lanes started here get its conductor
            from laneboard.conductor.attach import attach_every

            if note := await attach_every(sup):
                self.notify(note, title="conductor", severity="warning", timeout=8)
        await sup.start()
        self._to_screen(m.LanesChanged())
        # What is loaded by now lives as long as the cockpit: out of the collector's reach,
        # a full collection scans only what came later (with 64 lanes one had paused the
        # UI for ~100 ms now and then, the typing and screen p95; issue 18)
        gc.freeze()

    async def _start_control(self) -> None:
        """The conductor's control server, as `up --headless` serves it: only the process
        holding the supervisor lock serves it (a second would answer for lanes it does not
        supervise), and before any lane starts, since a lane allowed to delegate is given
        laneboard's MCP server only while the socket exists. Lanes run without it when it
        cannot open. Its run changes come down to the run tree as `RunsChanged`."""
        from laneboard.conductor import start_control_server
        from laneboard.errors import LaneboardError

        try:
            control = await start_control_server(self.supervisor)
        except (LaneboardError, OSError) as e:
            self.notify(f"no conductor socket, so no delegation: {e}", title="conductor",
                        severity="warning", timeout=8)
            return
        control.on_change = lambda: self._to_screen(m.RunsChanged(control.active_runs()))
        self._control = control

    @work(group="conductor", exit_on_error=False)
    async def cancel_run(self, run: str) -> None:
        """A person cancels a delegation run: every lane working on it is interrupted."""
        if self._control is None:
            self.notify("this cockpit does not serve the conductor", severity="warning")
            return
        lanes = await self._control.cancel_run(run)
        for lane in lanes:
            self._to_screen(m.LaneNote(lane, f"run {run[:8]} cancelled"))
        self.notify(f"interrupted: {', '.join(lanes) or 'nothing was running'}",
                    title=f"run {run[:8]} cancelled")

    @work(group="lanes", exit_on_error=False)
    async def lane_lifecycle(self, lane: str, action: str) -> None:
        """start, stop or restart a lane because the person asked."""
        if action == "start":
            await self.supervisor.start_lane(lane, by_user=True)
        elif action == "stop":
            await self.supervisor.stop_lane(lane)
        elif action == "restart":
            await self.supervisor.restart_lane(lane)
        self._to_screen(m.LanesChanged())

    @work(group="send", exit_on_error=False)
    async def send_prompt(self, lane: str, prompt: str, route: dict[str, object]) -> None:
        """Deliver a prompt; the reply arrives as a TurnFinished message (the event pump)."""
        await self.supervisor.send(lane, prompt, route=route)

    @work(group="send", exit_on_error=False)
    async def dispatch(self, decision: RouteDecision) -> Dispatched:
        """Deliver a routed prompt the core's way (`laneboard.lanes.dispatch`): triage first
        when the decision asks for it; ESCALATE sends, SKIP does not. The verdict and the
        send come back as messages; the reply as a TurnFinished (the event pump)."""
        from laneboard.lanes.dispatch import dispatch

        screen = self.screen_stack[0]

        def verdict(v: TriageVerdict, triage_lane: str) -> None:
            screen.post_message(m.TriageDecided(decision.lane, triage_lane, v.verdict,
                                                v.reason, v.failed_closed))

        def sending(lane: str, prompt: str, route: dict[str, object]) -> None:
            screen.post_message(m.PromptSent(lane, prompt, route))

        return await dispatch(self.supervisor, decision, on_verdict=verdict, on_send=sending)

    @work(group="model", exit_on_error=False)
    async def switch_model(self, lane: str, ref: str) -> None:
        """Strict model switch; while the lane is busy it waits (the lane shows it)."""
        await self.supervisor.switch_model(lane, ref)
        self._to_screen(m.LanesChanged())

    @work(group="interrupt", exit_on_error=False)
    async def interrupt_lane(self, lane: str) -> None:
        """Interrupt the lane's current turn through its harness (Escape for an agent CLI,
        Ctrl-C for a command lane); the lane keeps running. A stopped lane is left alone."""
        if not self.require_ready():
            return
        rt = self.supervisor.lanes.get(lane)
        if rt is None or rt.harness is None or rt.state in ("stopped", "failed"):
            self.notify(f"{lane} is not running: nothing to interrupt", severity="warning")
            return
        await rt.harness.interrupt()
        self._to_screen(m.LaneNote(lane, "interrupted"))

    def _terminal_write(self, text: str) -> None:
        """The notifier's terminal sink: through Textual's own driver, so a bell or an OSC
        string goes out between frames instead of into the middle of one (a direct write
        to the tty could land inside a frame the driver's writer thread is flushing). A
        headless app (tests, `run_test`) has no terminal to write to."""
        if self.is_headless or self._driver is None:
            return
        self._driver.write(text)

    @work(group="git", exclusive=True, exit_on_error=False)
    async def review_diff(self, lane: str | None = None) -> None:
        """Escalate `lane`'s branch diff against its base (when it has a worktree: that
        lane's work, not the main tree's) else `git diff HEAD` of the workspace."""
        if not self.require_ready():
            return
        from laneboard.lanes import worktrees

        if lane is not None and worktrees.find_for(self.supervisor.workspace, lane):
            patch = await asyncio.to_thread(worktrees.lane_patch, self.supervisor.workspace, lane)
            if not patch.strip():
                self.notify(f"lane {lane!r} changed nothing against its base",
                            title="nothing to review", severity="warning")
                return
            self.review_diff_text(patch, f"branch {worktrees.branch_of(lane)}")
            return
        proc = await asyncio.create_subprocess_exec(
            "git", "diff", "HEAD", cwd=self.supervisor.workspace,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"git diff failed: {err.decode(errors='replace').strip()}")
        diff = out.decode("utf-8", "replace")
        if not diff.strip():
            self.notify("git diff HEAD is empty", title="nothing to review", severity="warning")
            return
        self.review_diff_text(diff, "git diff HEAD")

    def review_diff_text(self, diff: str, source: str) -> None:
        """Send a diff up the review ladder when `review.ladder` is configured (the cheap
        rungs first, the escalation lane only when a rule fires), else straight to the
        review lane."""
        if self.loaded.config.review.ladder:
            self.review_ladder(diff, source)
            return
        from laneboard.lanes.escalation import diff_review_prompt

        self.escalate(diff_review_prompt(diff), source)

    @work(group="review-ladder", exclusive=True, exit_on_error=False)
    async def review_ladder(self, diff: str, source: str) -> None:
        """Climb the ladder on the cockpit's own lanes, then say where the artifact is."""
        from laneboard.lanes.review_ladder import review_with_supervisor, summary_line

        self.notify(f"{source}: {len(self.loaded.config.review.ladder)} rung(s), cheapest "
                    "first", title="review ladder started")
        result = await review_with_supervisor(self.loaded, self.supervisor, diff, source,
                                              store=self.artifacts)
        where = (f" ({result.artifact.short_id}) — F3 to read it" if result.artifact else "")
        self.notify(summary_line(result) + where, title="review ladder finished",
                    severity="information" if result.ok else "warning", timeout=10)

    def escalate(self, prompt: str, source: str) -> None:
        """Send `prompt` to the review lane; the screen notes it and follows the lane."""
        from laneboard.lanes.escalation import escalation_route, review_lane

        review = review_lane(self.loaded.config)
        if review is None:
            self.notify("no lane has role: reviewer", title="cannot escalate", severity="error")
            return
        route = escalation_route(self.loaded.config, review, source)
        self._to_screen(m.PromptSent(review, prompt, route))
        self._to_screen(m.FollowLane(review))
        self.send_prompt(review, prompt, route)

    @work(group="artifacts", exit_on_error=False)
    async def store_review(self, lane: str, prompt: str, result: TurnResult,
                           route: dict[str, object]) -> None:
        """Keep an escalation's answer as a review artifact, and say where it is."""
        from laneboard.lanes.escalation import review_record

        record = review_record(self.loaded.config, lane, prompt, result, route)
        artifact = await self.artifacts.write(record)
        self.notify(f"{artifact.title} ({artifact.short_id}) — F3 to read it",
                    title="review artifact stored")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become something a person sees."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            err = event.worker.error
            self.notify(str(err) or type(err).__name__, title=f"{event.worker.name} failed",
                        severity="error", timeout=8)

    # ------------------------------------------------------------------ requests (up)

    @on(m.DispatchRequested)
    def _on_dispatch(self, event: m.DispatchRequested) -> None:
        self.dispatch(event.decision)

    @on(m.LifecycleRequested)
    @on(LaneTable.LifecycleRequested)
    def _on_lifecycle(self, event: m.LifecycleRequested | LaneTable.LifecycleRequested) -> None:
        self.lane_lifecycle(event.lane, event.action)

    @on(m.MirrorRequested)
    def _on_mirror(self, event: m.MirrorRequested) -> None:
        self.mirror_lanes(event.lanes)

    @on(m.AttachRequested)
    def _on_attach(self, event: m.AttachRequested) -> None:
        self.attach(event.lane)

    @on(m.ModelSwitchRequested)
    def _on_model_switch(self, event: m.ModelSwitchRequested) -> None:
        """Validate now (strict refs: a typo is refused at once), then switch in a worker."""
        from laneboard.errors import LaneboardError
        from laneboard.lanes.specs import lane_candidates

        lane, ref = event.lane, event.ref
        try:
            lane_candidates(self.loaded.config, lane, ref)
        except LaneboardError as e:
            self.notify(str(e), title=f"/model {ref}", severity="error", timeout=10)
            return
        if self.supervisor.lanes[lane].queue.locked():
            self._to_screen(m.LaneNote(lane, f"model switch to {ref} waits for idle"))
        self.switch_model(lane, ref)

    @on(m.AnswerReviewRequested)
    def _on_answer_review(self, event: m.AnswerReviewRequested) -> None:
        from laneboard.lanes.escalation import answer_review_prompt, review_lane

        lane = event.lane
        if lane == review_lane(self.loaded.config):
            self.notify("select the lane whose answer should be reviewed", severity="warning")
            return
        if not event.answer.strip():
            self.notify(f"{lane} has no answer yet", title="nothing to review", severity="warning")
            return
        self.escalate(answer_review_prompt(lane, event.answer), f"last answer of {lane}")

    @on(m.RunCancelRequested)
    def _on_run_cancel(self, event: m.RunCancelRequested) -> None:
        self.cancel_run(event.run)

    @on(m.InterruptRequested)
    def _on_interrupt(self, event: m.InterruptRequested) -> None:
        self.interrupt_lane(event.lane)

    @on(m.DiffReviewRequested)
    def _on_diff_review(self, event: m.DiffReviewRequested) -> None:
        self.review_diff(event.lane)

    @on(m.DiffViewRequested)
    def _on_diff_view(self, event: m.DiffViewRequested) -> None:
        from laneboard.lanes import worktrees
        from laneboard.tui.screens.diff import DiffScreen

        if not self.require_ready():
            return
        if not worktrees.find_for(self.supervisor.workspace, event.lane):
            self.notify(f"lane {event.lane!r} has no worktree (read-only, or not in a git "
                        "repository)", title="no diff", severity="warning")
            return
        self.push_screen(DiffScreen(self.supervisor.workspace, event.lane))

    # ------------------------------------------------------------------ actions

    def action_show_help(self) -> None:
        from laneboard.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.BINDINGS))

    def action_show_preflight(self) -> None:
        from laneboard.tui.screens.preflight import PreflightScreen

        if not self.require_ready():
            return
        self.push_screen(PreflightScreen(self.run_preflight))

    def action_show_artifacts(self) -> None:
        from laneboard.tui.screens.artifacts import ArtifactsScreen

        if not self.require_ready():
            return
        self.push_screen(ArtifactsScreen(lambda: self.artifacts))

    def action_show_usage(self) -> None:
        from laneboard.tui.screens.usage import UsageScreen

        if not self.require_ready():
            return
        self.push_screen(UsageScreen(self.lane_infos()))

    def attach_argv(self, lane: str) -> list[str]:
        """The tmux command that puts this terminal on the lane's window (our socket);
        for a lane on another host, `ssh -t … tmux attach` through that host's link."""
        remote = self.supervisor.relays.attach_argv(self.supervisor.session, lane)
        if remote is not None:
            return remote
        sock = self.supervisor.socket
        flag = "-S" if "/" in sock else "-L"
        session = self.supervisor.session
        return ["tmux", flag, sock, "select-window", "-t", f"={session}:={lane}", ";",
                "attach-session", "-t", f"={session}"]

    def attach(self, lane: str) -> None:
        """Suspend the cockpit and attach the real terminal to the lane's tmux window."""
        if not self.require_ready():
            return
        rt = self.supervisor.lanes.get(lane)
        if rt is None or rt.is_exec:
            self.notify(f"{lane} runs one process per prompt: there is no pane to attach to.",
                        severity="warning")
            return
        if rt.harness is None:
            self.notify(f"{lane} is not running; start it first (s in the lane list).",
                        severity="warning")
            return
        try:
            with self.suspend():
                self.attach_runner(self.attach_argv(lane))
        except SuspendNotSupported:
            self.notify("This terminal cannot suspend the app to attach.", severity="error")

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def shutdown(self) -> None:
        """Detach from the lanes (they keep running in tmux) if this app owns the supervisor."""
        if self._closed:
            return
        self._closed = True
        if self._mirrors is not None:
            await self._mirrors.close()
        if self._notifier is not None:
            await self._notifier.close(timeout=2.0)
        if self._control is not None:  # hops still running are cancelled with it
            await self._control.close()
            self._control = None
        if self.owns_supervisor:
            await self.supervisor.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        gc.unfreeze()  # what the cockpit held may be collected again (a host process lives on)

    async def on_unmount(self) -> None:
        await self.shutdown()


def make_app(
    loaded: LoadedConfig | Callable[[], LoadedConfig],
    supervisor: Supervisor | None = None,
    *,
    workspace: Path | None = None,
    router: Router | None = None,
    preflight: PreflightRunner | None = None,
    artifacts: ArtifactStore | Callable[[], ArtifactStore] | None = None,
    autostart: bool = True,
    motion: bool = True,
    attach_runner: AttachRunner | None = None,
) -> LaneboardApp:
    """Build the cockpit. The CLI passes only a loader; tests pass their own parts.

    `loaded`: a loaded config, or a function that loads it — then the app paints first and
    calls it in a worker thread (a `LaneboardError` it raises ends the app with
    `load_error` set). `supervisor`: an existing one (the caller then closes it; not with a
    loader); by default one is made for `workspace` and detached when the app quits (lanes
    keep running in tmux). `autostart`: start (or adopt) every lane once loaded. `motion`:
    spinner, cursor blink and animations — off for deterministic snapshots. `preflight`:
    coroutine factory returning a preflight `Report`. `artifacts`: a store, or a factory
    called on first use.
    """

    def build() -> Core:
        return build_core(loaded, supervisor, workspace, router, preflight, artifacts)

    options: dict[str, Any] = {"autostart": autostart, "motion": motion,
                               "attach_runner": attach_runner}
    if callable(loaded):
        if supervisor is not None:
            raise ValueError("make_app: pass a loaded config together with a supervisor")
        return LaneboardApp(build, session=workspace_session(workspace or Path.cwd()), **options)
    return LaneboardApp(build(), **options)


if TYPE_CHECKING:
    def _implements_link(app: LaneboardApp) -> CockpitLink:
        """Never called: mypy checks here that the App gives screens what they read."""
        return app
