"""The supervisor: starts lanes, watches them, restarts the ones that die, and sends prompts.

State machine per lane: stopped → starting → ready ⇄ busy → waiting → failed / restarting.

- Lanes outlive the supervisor. `close()` detaches: the tmux windows keep running, and the
  next supervisor adopts them (its harness finds the window by its tmux user options).
- Restarts follow the lane's policy with exponential backoff and a start limit (N starts in
  W seconds → `failed` until restarted by hand), under a cockpit-wide budget (the tighter
  of the two wins, and the failure says which one it was). The backoff grows with each
  consecutive failed run and starts over once a run outlived the start-limit window.
  `on-failure` restarts only a non-zero (or unknown) exit. A stop the user asked for is
  never undone, whichever process asked. A writable exec lane that died mid-turn is not
  re-run: it goes to `failed` and says what was in flight.
- Every state change, the last error, the restart attempt and delay, and a user's stop are
  published (`lanes.published`) so that every laneboard process sees them: `lanes status`
  from another terminal, a `lanes stop` that a running cockpit must respect, and the next
  supervisor, which leaves a lane its predecessor marked `failed` alone until a person
  starts it.
- Sends to one lane queue in order (an asyncio lock in-process, a file lock across
  processes). That lane lock is also what serialises one review session: the review lane
  is one interactive Claude Code session, and every `laneboard review`, cockpit or
  `send` turn on it, from any process, takes the lane's lock first.
- Runs that share one provider profile serialise on a provider lock (a machine-wide file
  lock named after the provider and its `@profile`); different providers, and different
  profiles of one provider, run in parallel. Only exec lanes take it — `codex exec`,
  `claude -p` and the HTTP harnesses (ollama, openai): each run starts afresh from the
  profile's credentials (and may refresh and rewrite them, as `codex exec` does with a
  ChatGPT login) and draws on its rate limit, so two at once race. Interactive lanes do
  not: each holds one long-lived session that opened the profile when it started, a
  person may type into its pane at any moment (so a per-turn lock could not cover its
  use anyway), and holding a provider lock for an interactive turn would make every exec
  run of that provider wait on a session that a person may leave open for hours. Their
  turns are serialised by their lane lock, which is what a session needs.
- Degenerate output: the agent CLIs in panes (claude-code, codex) redraw a full screen
  and their harnesses read answers from transcripts, so the supervisor watches their
  pane output itself (`harnesses.watchdog.PaneWatchdog`, reset for each turn); when it
  trips, the lane is interrupted, `LaneErrored(kind="watchdog")` is published and the
  turn ends `failed`. Harnesses that watch their own stream (command, HTTP, headless
  claude) say so with `Harness.watches_output` and are left to it.
- Failover: a configured default that fails with an auth, rate-limit or unreachable error
  moves the lane to the next model of its chain and cools the failed one down; a model the
  user picked explicitly is strict and the turn fails visibly. A switch asked for while the
  lane is busy waits until it is idle.
- Liveness is checked by pid (`core.procs.pid_alive`, a zombie is dead; a local lane's end
  is awaited on a pidfd, `core.procs.wait_exit`, not polled) — no tmux process per poll —
  and confirmed through the harness before a restart.

Why this is long (~800 lines): what is left here is the ordering of one lane's life —
start, pump, monitor, death and restart, send under its locks — and each step publishes
events and state that the next step reads; split further, each part would need the
supervisor back (an import cycle) or a dozen callbacks. The parts that are rules rather
than ordering live beside it: `lanes.runtime` (the per-lane record), `lanes.failover`
(failover, provider profiles, turn accounting), `lanes.restart` (backoff, start limits,
the cockpit budget), `lanes.statefile` / `lanes.published` (persistence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import AsyncFileLock
from filelock import Timeout as LockTimeout

from laneboard.config import LoadedConfig
from laneboard.core.harness_kinds import kind
from laneboard.core.hub import Hub
from laneboard.core.names import workspace_session
from laneboard.core.procs import pid_alive, wait_exit
from laneboard.errors import (
    HarnessError,
    HarnessTimeout,
    LaneboardError,
    LaneBusy,
    LaneError,
    ProviderError,
)
from laneboard.harnesses.base import (
    ErrorRaised,
    Harness,
    HarnessSpec,
    LaneState,
    OutputReceived,
    StateChanged,
    TurnResult,
    TurnStarted,
    Usage,
    UsageReported,
)
from laneboard.lanes import published
from laneboard.lanes.events import (
    FenceTripped,
    LaneErrored,
    LaneOutput,
    LaneRestartScheduled,
    LaneStateChanged,
    LaneUsageUpdated,
    ModelSwitched,
    ModelSwitchPending,
    SupervisorEvent,
    TurnCompleted,
)
from laneboard.lanes.failover import account_turn, advance, provider_profile
from laneboard.lanes.gateway_route import gateway_spec, uses_gateway
from laneboard.lanes.restart import CockpitBudget, StartHistory
from laneboard.lanes.runtime import (
    SENDING,
    LaneRuntime,
    as_state,
    detach,
    exit_status,
)
from laneboard.lanes.specs import Candidate, Cooldowns, build_spec, lane_candidates
from laneboard.lanes.statefile import StateFile, lock_path, state_dir

if TYPE_CHECKING:
    from laneboard.artifacts.redact import Redactor
    from laneboard.gateway.client import GatewayInfo
    from laneboard.harnesses.tmux import TmuxRelay
    from laneboard.harnesses.tmux_control import PaneStream

log = logging.getLogger(__name__)

HarnessFactory = Callable[[HarnessSpec, "Supervisor"], Harness]
#: How much longer `deliver` backs up a deferred send than the send's own deadline.
DEFER_GRACE_S = 5.0
__all__ = ["SENDING", "HarnessFactory", "LaneRuntime", "Supervisor", "workspace_session"]


class Supervisor:
    """Runs the configured lanes. One per cockpit, `laneboard up`, or CLI command."""

    POLL_S = 0.5
    WATCH_S = 30.0
    """How long a local lane's monitor waits on its process's end before looking again."""
    CLOSE_S = 5.0
    """How long `close()` waits for its cancelled tasks to finish."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        workspace: Path | None = None,
        factory: HarnessFactory | None = None,
        budget: CockpitBudget | None = None,
    ) -> None:
        self.loaded = loaded
        from laneboard.config.replicas import expand, groups

        self.groups = groups(loaded.config)
        """Replicated lane id → its replicas; a send to the group goes to an idle one."""
        self._next_replica: dict[str, int] = {}
        self.cfg = expand(loaded.config)  # one runtime lane per replica (coder-1 … coder-N)
        self._redactor: Redactor | None = None
        self.workspace = (workspace or Path.cwd()).resolve()
        self.socket = os.environ.get("LANEBOARD_TMUX_SOCKET") or self.cfg.tmux.socket
        self.session = self.cfg.tmux.session or workspace_session(self.workspace)
        self._factory = factory
        self.budget = budget or CockpitBudget()
        self.cooldowns = Cooldowns()
        self.hub: Hub[SupervisorEvent] = Hub()
        self.statefile = StateFile.open(self.socket, self.session)
        self.state_root = state_dir()
        """Resolved once: publications are written later, on the publisher thread, when
        the environment ($LANEBOARD_STATE_DIR) may no longer say what it said here."""
        self._publisher = ThreadPoolExecutor(1, thread_name_prefix="laneboard-publish")
        """Writes lane publications in order, off the event loop (see `_publish`)."""
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        from laneboard.lanes.relays import LaneRelays

        self.relays = LaneRelays(self.cfg, self.socket)
        """The local relay and, for lanes with `host:`, one SSH link and relay per host."""
        self.gateway: GatewayInfo | None = None
        """The lane gateway, started or adopted when the first lane that uses it starts."""
        self.conductor: dict[str, tuple[str, str]] = {}
        """lane → (control socket, lane token) for every lane allowed to delegate; set by
        the conductor's control server when it starts (before the lanes do), so those
        lanes get laneboard's MCP server. Empty: no lane gets it."""
        self.supervised_by: int | None = None
        """The pid of another process that holds this session's `SupervisorLock` (set by
        whoever tried the lock); while set, a lane that dies is left to that process to
        restart: two processes restarting one lane would each create a window."""
        self.lanes: dict[str, LaneRuntime] = {}
        for lane_id, lane in self.cfg.lanes.items():
            rt = LaneRuntime(lane_id, lane, StartHistory(lane.restart))
            rec = self.statefile.lane(lane_id)
            rt.restarts, rt.prompts = rec.restarts, rec.prompts
            rt.usage = Usage(rec.input_tokens, rec.output_tokens, 0, rec.cost_usd or None)
            rt.context_tokens = rec.context_tokens
            rt.candidates = lane_candidates(self.cfg, lane_id, rec.model if rec.explicit else None)
            rt.explicit = rec.explicit and bool(rec.model)
            self.lanes[lane_id] = rt
        for lane_id, pub in self._read_published().items():
            rt_ = self.lanes.get(lane_id)
            if rt_ is not None and pub.state == "failed":
                rt_.state, rt_.detail, rt_.last_error = "failed", pub.detail, pub.last_error
                rt_.held_failed = True

    # ------------------------------------------------------------------ events

    def subscribe(self) -> AsyncIterator[SupervisorEvent]:
        """A new subscription to every lane's events, registered at once: an event published
        after this call is seen, even before the first `async for` step."""
        return aiter(self.hub.subscribe())

    @property
    def relay(self) -> TmuxRelay:
        """The tmux relay every pane lane of this supervisor shares (created on first use, on
        the supervisor's socket; an HTTP-only supervisor never starts one)."""
        return self.relays.local

    def relay_for(self, rt: LaneRuntime) -> TmuxRelay:
        """The relay the lane's window lives on: here, or on its `host:` over SSH."""
        return self.relays.for_lane(rt.id)

    def _set_state(
        self, rt: LaneRuntime, state: LaneState, detail: str = "", **extra: object
    ) -> None:
        if state == rt.state and detail == rt.detail and not extra:
            return
        rt.state, rt.detail = state, detail
        if state != "restarting":
            rt.delay_s = None
        self._publish(
            rt,
            state=state,
            detail=detail,
            last_error=rt.last_error,
            attempt=rt.history.consecutive_failures,
            delay_s=rt.delay_s,
            **extra,
        )
        self.hub.publish(LaneStateChanged(rt.id, state, detail))

    def _read_published(self) -> dict[str, published.Published]:
        self._published_now()  # read our own writes: the queued ones first
        try:
            return published.read_all(self.socket, self.session, self.state_root)
        except OSError as e:
            log.warning("could not read published lane states: %s", e)
            return {}

    def _publish(self, rt: LaneRuntime, **changes: object) -> None:
        """Tell every laneboard process about this lane (a failure to is logged, not raised:
        the lane itself matters more than its report).

        Written in order by one publisher thread: each write (file lock, read, fsync,
        rename; ~3 ms, far more on a busy disk) ran on the event loop, three or four per
        send, and was most of a delegation's overhead (issue 15). Our own reads
        (`_read_published`) and `close` wait for what is queued; other processes see a
        change moments later, never a torn file (each write is still atomic)."""
        try:
            self._publisher.submit(self._publish_sync, rt.id, changes)
        except RuntimeError:  # shut down (after close): write it here
            self._publish_sync(rt.id, changes)

    def _publish_sync(self, lane_id: str, changes: dict[str, object]) -> None:
        try:
            published.update(self.socket, self.session, lane_id, root=self.state_root, **changes)
        except (OSError, LockTimeout, LaneboardError) as e:
            log.warning("lane %s: could not publish its state: %s", lane_id, e)

    def _published_now(self) -> None:
        """Block until every queued publication is written."""
        with contextlib.suppress(RuntimeError):
            self._publisher.submit(int).result()

    def _stopped_elsewhere(self, rt: LaneRuntime) -> bool:
        """True when a person stopped the lane, in this process or any other."""
        if not rt.user_stopped:
            pub = self._read_published().get(rt.id)
            rt.user_stopped = bool(pub and pub.user_stopped)
        return rt.user_stopped

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A background task that `close()` will cancel and wait for."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def pick(self, lane_id: str) -> str:
        """The lane a send to `lane_id` goes to: itself, or for a replica group the first
        replica that is ready and not driven, else a stopped one (it will start), else the
        one with the fewest queued sends. Choosing and taking the replica's queue happen
        without an await in between, so two sends at once never pick the same idle one."""
        ids = self.groups.get(lane_id)
        if not ids:
            return lane_id
        rts = [self.lanes[i] for i in ids]
        free = [rt for rt in rts if not rt.queue.locked()]
        for ok in (("ready",), ("stopped", "failed")):
            for rt in free:
                if rt.state in ok:
                    return rt.id
        if free:
            return free[0].id
        turn = self._next_replica.get(lane_id, 0)  # all busy: queue round-robin
        self._next_replica[lane_id] = turn + 1
        return rts[turn % len(rts)].id

    def lane(self, lane_id: str) -> LaneRuntime:
        try:
            return self.lanes[lane_id]
        except KeyError:
            if lane_id in self.groups:
                raise LaneError(f"{lane_id!r} is a group of replicas "
                                f"({', '.join(self.groups[lane_id])}); name one") from None
            raise LaneError(
                f"no lane named {lane_id!r} (lanes: {', '.join(self.lanes)})"
            ) from None

    def status(self) -> list[dict[str, object]]:
        self.sync_gateway_usage()
        return [rt.status() for rt in self.lanes.values()]

    def sync_gateway_usage(self) -> bool:
        """Take the tokens (and, with a configured price, the cost) of every gateway lane
        from the gateway's counts, which come from the API's own usage fields and cover
        every request, including turns another laneboard process sent. True when a lane's
        numbers changed (they are saved in the state file)."""
        from laneboard.lanes.gateway_route import gateway_usage
        from laneboard.lanes.statefile import state_dir

        try:
            counted = gateway_usage(state_dir(), self.socket)
        except OSError:
            return False
        changed = False
        for lane_id, usage in counted.items():
            rt = self.lanes.get(lane_id)
            if rt is None or not uses_gateway(self.cfg, lane_id):
                continue
            cost = usage.cost_usd if usage.cost_usd is not None else rt.usage.cost_usd
            new = (usage.input_tokens, usage.output_tokens, cost)
            if new == (rt.usage.input_tokens, rt.usage.output_tokens, rt.usage.cost_usd):
                continue
            rt.usage.input_tokens, rt.usage.output_tokens, rt.usage.cost_usd = new
            rt.usage.cached_tokens = usage.cached_tokens
            rec = self.statefile.lane(lane_id)
            rec.input_tokens, rec.output_tokens = usage.input_tokens, usage.output_tokens
            rec.cost_usd = cost or 0.0
            changed = True
            # the lane table and usage screen follow: turns typed into a pane, or sent by
            # another process, reach the gateway without passing this supervisor's send
            self.hub.publish(LaneUsageUpdated(lane_id, rt.usage, rt.prompts))
        if changed:
            self._save()
        return changed

    GATEWAY_USAGE_POLL_S = 2.0

    async def _follow_gateway_usage(self) -> None:
        """Sync the gateway's counts whenever its usage file changes (one stat every
        `GATEWAY_USAGE_POLL_S`; nothing else is read while it is unchanged)."""
        from laneboard.lanes.gateway_route import usage_file
        from laneboard.lanes.statefile import state_dir

        path = usage_file(state_dir(), self.socket)
        seen: tuple[int, int] | None = None
        while True:
            await asyncio.sleep(self.GATEWAY_USAGE_POLL_S)
            try:
                st = os.stat(path)
            except OSError:
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != seen:
                seen = stamp
                self.sync_gateway_usage()

    # ------------------------------------------------------------------ harnesses

    def spec_for(self, rt: LaneRuntime) -> HarnessSpec:
        # a lane on a host reaches this machine's gateway/endpoint through a reverse forward
        return self.relays.reversed(self._spec_here(rt))

    def _spec_here(self, rt: LaneRuntime) -> HarnessSpec:
        """The lane's spec as seen from this machine (its URLs on our loopback)."""
        fallbacks = [] if rt.explicit else rt.candidates[rt.index + 1 :]
        spec = build_spec(self.cfg, rt.id, rt.candidate, fallbacks, self.workspace,
                          conductor=self.conductor.get(rt.id))
        spec = self.relays.forwarded(spec)  # a provider on another host's loopback
        if self.gateway is None or not uses_gateway(self.cfg, rt.id):
            return spec
        return gateway_spec(self.cfg, spec, self.gateway, rt.candidate, fallbacks,
                            strict=rt.explicit, workspace=self.workspace)

    async def _ensure_gateway(self, rt: LaneRuntime) -> None:
        """Start or adopt the gateway before the first lane that talks through it (it
        runs in the session's hidden `_gateway` window, so it outlives this process)."""
        if self.gateway is not None or not uses_gateway(self.cfg, rt.id):
            return
        from laneboard.gateway.client import ensure_gateway
        from laneboard.lanes.gateway_route import gateway_key_names, gateway_keys
        from laneboard.lanes.statefile import state_dir

        await self.relay.ensure_session(self.session, cwd=self.workspace)
        # the provider keys its fallbacks and routed tools may need, from our environment
        # (the tmux window would only have the tmux server's), never through a file or argv
        self.gateway = await asyncio.to_thread(
            ensure_gateway, self.socket, self.session, state_dir(),
            gateway_keys(self.cfg), gateway_key_names(self.cfg),
        )
        self._spawn(self._follow_gateway_usage(), "gateway-usage")

    def _gateway_cuts(self, rt: LaneRuntime) -> int | None:
        """The gateway watchdog's count of cut streams for this lane (None: no gateway)."""
        if self.gateway is None or not uses_gateway(self.cfg, rt.id):
            return None
        from laneboard.lanes.gateway_route import degenerate_cuts

        return degenerate_cuts(self.gateway.folder.parent, self.socket, rt.id)

    def _gateway_tripped(self, rt: LaneRuntime, before: int | None) -> None:
        """Mark the turn when the gateway cut one of its streams as degenerate: the CLI may
        have retried and answered, but the lane's model repeated itself without end."""
        if before is None or rt.tripped is not None:
            return
        after = self._gateway_cuts(rt)
        if after is None or after <= before:
            return
        rt.tripped = "a token repeated without end; the gateway cut the stream"
        message = f"degenerate output ({rt.tripped})"
        rt.last_error = message
        log.warning("lane %s: %s", rt.id, message, extra={"lane": rt.id})
        self.hub.publish(LaneErrored(rt.id, "watchdog", message))

    def _make_harness(self, rt: LaneRuntime) -> Harness:
        spec = self.spec_for(rt)
        if self._factory is not None:
            return self._factory(spec, self)
        from laneboard.lanes.factory import make_harness

        return make_harness(spec, relay=lambda: self.relay_for(rt), session=self.session)

    async def _pump(self, rt: LaneRuntime, harness: Harness) -> None:
        """Relay one harness's events into supervisor events and lane state."""
        async for ev in harness.events():
            if isinstance(ev, OutputReceived):
                rt.last_output = (rt.last_output + ev.data)[-4000:]
                self.hub.publish(LaneOutput(rt.id, ev.data))
            elif isinstance(ev, StateChanged):
                # starting → ready is the supervisor's call (after start() and the pid check)
                if ev.state in ("ready", "busy", "waiting") and rt.state not in (
                    "starting",
                    "restarting",
                ):
                    self._set_state(rt, ev.state, ev.detail)
            elif isinstance(ev, TurnStarted):
                rt.watchdog.reset()  # from here on the output is the agent's answer
                if rt.state == "busy":
                    self._set_state(rt, "busy", "turn started")
                waiter = rt.on_turn_started
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif isinstance(ev, UsageReported):
                pass  # counted once per turn from TurnResult.usage
            elif isinstance(ev, ErrorRaised):
                rt.last_error = ev.message
                if ev.kind == "fence":
                    self.hub.publish(FenceTripped(rt.id, ev.message))
                self.hub.publish(LaneErrored(rt.id, ev.kind, ev.message))

    async def _monitor(self, rt: LaneRuntime, harness: Harness) -> None:
        """Notice a dead lane process without spawning tmux on every tick."""
        local = rt.config.host is None  # a remote lane's pid means nothing here
        while not self._closed and rt.harness is harness:
            pid = rt.pid
            if local and pid is not None and pid_alive(pid):
                # woken by the kernel when the process ends (a pidfd), not a poll per lane;
                # the timeout only re-reads rt.pid and rt.harness now and then
                await wait_exit(pid, self.WATCH_S, poll=self.POLL_S)
                continue
            try:
                health = await harness.health()
            except HarnessError:
                if local:
                    raise
                await asyncio.sleep(self.POLL_S)  # link down: `_follow_link` re-adopts
                continue
            if health.alive:
                rt.pid = health.pid
                if rt.pid is None or not local:
                    await asyncio.sleep(self.POLL_S)  # no pid to watch cheaply: slow poll
                continue
            if rt.harness is harness and not self._closed:
                await self._on_death(rt, health.detail, await exit_status(harness), harness)
            return

    async def _on_death(
        self, rt: LaneRuntime, detail: str, status: int | None = None, dead: Harness | None = None
    ) -> None:
        rt.harness = None
        rt.pid = None
        for t in rt.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        rt.tasks = []
        # The dead lane's harness still watches its pane; left alone, its watcher would ask
        # tmux about the pane while the loop shuts down and hang the exit.
        await detach(dead)
        if self._stopped_elsewhere(rt):
            self._set_state(rt, "stopped")
            return
        if self.supervised_by is not None:
            # Shown here, not published: the supervising process publishes what it does.
            rt.state, rt.detail = "stopped", f"exited; restarts are up to pid {self.supervised_by}"
            self.hub.publish(LaneStateChanged(rt.id, rt.state, rt.detail))
            return
        policy = rt.config.restart
        if status == 0 and not rt.history.should_restart(exit_ok=True, user_stopped=False):
            self._set_state(
                rt, "stopped", f"exited with status 0; restart policy {policy.policy} leaves it"
            )
            return
        rt.last_error = f"lane process exited: {detail}".strip()
        self.hub.publish(LaneErrored(rt.id, "exit", rt.last_error))
        if rt.in_flight is not None and rt.config.fence in ("workspace-write", "full"):
            self._fail(
                rt,
                f"died mid-turn with a writable fence; not re-run. In flight: {rt.in_flight[:200]!r}",
            )
            return
        if not rt.history.should_restart(exit_ok=False, user_stopped=False):
            self._fail(rt, f"exited ({detail or 'no status'}); restart policy: {rt.config.restart.policy}")
            return
        if rt.history.limit_reached():
            self._fail(
                rt,
                f"start limit reached ({rt.config.restart.burst} starts in "
                f"{rt.config.restart.interval_s:g}s); last output: {rt.last_output[-300:]!r}",
            )
            return
        if not self.budget.take():
            self._fail(
                rt,
                f"the cockpit-wide restart budget ({self.budget.limit} restarts of all lanes "
                f"in {self.budget.window_s:g}s) is used up, before this lane's own limit "
                f"({policy.burst} starts in {policy.interval_s:g}s); restart it by hand",
            )
            return
        ran = time.monotonic() - rt.started_at if rt.started_at is not None else 0.0
        if ran > policy.interval_s:
            rt.history.consecutive_failures = 0  # it ran well for a while: a fresh failure
        rt.history.consecutive_failures += 1
        delay = rt.history.next_delay()
        rt.delay_s = delay
        self.hub.publish(
            LaneRestartScheduled(rt.id, rt.history.consecutive_failures, delay, detail)
        )
        self._set_state(rt, "restarting", f"in {delay:.1f}s")
        await asyncio.sleep(delay)  # backoff: the delay itself is the point
        if self._closed:
            return
        if self._stopped_elsewhere(rt):
            self._set_state(rt, "stopped")
            return
        rt.restarts += 1
        self.statefile.lane(rt.id).restarts = rt.restarts
        self._save()
        await self._start(rt)

    def _fail(self, rt: LaneRuntime, why: str) -> None:
        rt.last_error = why
        self._set_state(rt, "failed", why)
        self.hub.publish(LaneErrored(rt.id, "failed", why))

    # ------------------------------------------------------------------ lifecycle

    async def start(self, lane_ids: list[str] | None = None) -> None:
        """Start (or adopt) lanes; all of them by default, in parallel. A lane that a
        previous supervisor marked `failed` stays failed until a person starts it."""
        ids = lane_ids if lane_ids is not None else list(self.lanes)
        await asyncio.gather(*(self._auto_start(i) for i in ids))

    async def _auto_start(self, lane_id: str) -> None:
        rt = self.lane(lane_id)
        if rt.held_failed and rt.harness is None:
            why = rt.last_error or rt.detail or "marked failed by a previous supervisor"
            self.hub.publish(LaneStateChanged(rt.id, "failed", rt.detail))
            self.hub.publish(
                LaneErrored(rt.id, "failed", f"not started (failed before: {why}); "
                            f"`laneboard lanes start {rt.id}` tries again")
            )
            return
        await self.start_lane(lane_id)

    async def start_lane(self, lane_id: str, *, by_user: bool = False) -> None:
        rt = self.lane(lane_id)
        if by_user:
            rt.history.reset()
            rt.held_failed = False
        if rt.harness is not None and rt.state not in ("failed", "stopped"):
            return
        self._claim(rt)
        await self._start(rt)

    def _claim(self, rt: LaneRuntime) -> None:
        """Someone starts the lane on purpose: an earlier stop or failure no longer holds."""
        rt.user_stopped = False
        rt.held_failed = False
        rt.last_error = None
        self._publish(rt, user_stopped=False, last_error=None)

    async def _start(self, rt: LaneRuntime) -> None:
        """Start a lane's harness; `rt.start_settled` is clear meanwhile, so a send that
        arrives while the lane is starting (a prompt typed as the cockpit opens) waits for
        the start to end instead of typing into a pane that does not exist yet — or
        starting the lane a second time."""
        rt.start_settled.clear()
        try:
            await self._start_once(rt)
        finally:
            rt.start_settled.set()

    async def _wait_start_settled(self, rt: LaneRuntime, timeout: float) -> None:
        """Wait (at most `timeout`) for a start in progress to end, however it ends."""
        if not rt.start_settled.is_set():
            try:
                await asyncio.wait_for(rt.start_settled.wait(), timeout)
            except TimeoutError:
                raise LaneError(
                    f"lane {rt.id!r} is still starting after {timeout:g}s; nothing was sent"
                ) from None

    async def _start_once(self, rt: LaneRuntime) -> None:
        if kind(rt.config.harness).takes_model and rt.candidate is None:
            self._fail(rt, "no usable model: every model in the lane's chain is unavailable")
            return
        self._set_state(rt, "starting")
        rt.history.record_start()
        try:
            await self._ensure_gateway(rt)
        except (OSError, RuntimeError, TimeoutError, HarnessError,
                subprocess.CalledProcessError) as e:
            self._fail(rt, f"could not start: the lane gateway did not come up: {e}")
            return
        try:
            provider = rt.config.provider or (rt.candidate.provider if rt.candidate else None)
            await self.relays.acquire_forward(rt.id, provider)
            await self.relays.acquire_reverse(self._spec_here(rt))
        except (HarnessError, LaneError) as e:
            self._fail(rt, f"could not start: no SSH forward to its model server: {e}")
            return
        note = self.relays.conductor_notes.get(rt.id)
        if note is not None:  # it starts, without laneboard's tools: said, not fatal
            rt.last_error = note
            self.hub.publish(LaneErrored(rt.id, "conductor", note))
        if rt.config.host is not None:  # its cwd is a path there: never a local worktree
            try:
                await self.relays.check_remote_cwd(rt.id, self._spec_here(rt).cwd)
            except (HarnessError, LaneError) as e:
                await self.relays.release_forward(rt.id)
                self._fail(rt, f"could not start: {e}")
                return
        harness = self._make_harness(rt)
        rt.harness = harness
        pump = self._spawn(self._pump(rt, harness), f"pump-{rt.id}")
        rt.tasks = [pump]
        try:
            await harness.start()
        except (HarnessError, LaneError) as e:
            rt.last_error = str(e)
            self.hub.publish(LaneErrored(rt.id, getattr(e, "kind", "start"), str(e)))
            with contextlib.suppress(HarnessError, OSError):
                await harness.stop()
            rt.harness = None
            pump.cancel()
            if isinstance(e, ProviderError) and e.fails_over and self._advance(rt, e):
                await self._start(rt)
                return
            self._fail(rt, str(e) if str(e).startswith("could not start") else f"could not start: {e}")
            return
        except BaseException:
            # cancelled (the supervisor is shutting down, a `deliver` gave up) or a bug:
            # never leave `starting`, nor the harness's watchers running — an exit
            # monitor outliving its relay kept `laneboard send` from ever exiting
            rt.harness = None
            pump.cancel()
            with contextlib.suppress(BaseException):
                await harness.detach()
            raise
        health = await harness.health()
        rt.pid = health.pid
        rt.started_at = time.monotonic()
        # consecutive_failures is NOT reset here: only a long run or a person resets it
        if harness.adopted:
            rt.history.adopted()  # found running (e.g. after a dropped link): not a start
        self._set_state(rt, "ready", "adopted" if harness.adopted else "")
        if not rt.is_exec:
            rt.tasks.append(self._spawn(self._monitor(rt, harness), f"mon-{rt.id}"))
        if rt.config.host is not None and not rt.is_exec:
            rt.tasks.append(self._spawn(self._follow_link(rt, harness), f"link-{rt.id}"))
        if not harness.watches_output:
            stream = await harness.output_stream()
            if stream is not None:
                rt.tasks.append(
                    self._spawn(self._watch_output(rt, harness, stream), f"watchdog-{rt.id}")
                )
                if callable(getattr(harness, "classify", None)):
                    rt.tasks.append(
                        self._spawn(self._watch_screen(rt, harness, stream), f"screen-{rt.id}")
                    )

    async def _follow_link(self, rt: LaneRuntime, harness: Harness) -> None:
        """A remote lane's output comes over its host's SSH link. When the link drops the
        lane keeps running in the remote tmux; re-adopt it (scrollback included) once the
        link is back, without restarting it (`lanes.relays.wait_link_back`)."""
        from laneboard.lanes.relays import wait_link_back

        stream = await harness.output_stream()
        if stream is None:
            return
        while not (stream.closed or stream.dead):
            await stream.wait()
        if stream.dead or self._closed or rt.harness is not harness:
            return  # the lane itself ended: the monitor handles a death
        host = rt.config.host
        assert host is not None
        for t in rt.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        rt.tasks, rt.harness = [], None
        await detach(harness)
        self._set_state(rt, "starting", f"link to host {host!r} dropped; reconnecting")
        await wait_link_back(self.relays.link(host), lambda: self._closed)
        if self._closed or self._stopped_elsewhere(rt):
            return
        await self._start(rt)

    async def _watch_screen(self, rt: LaneRuntime, harness: Harness, stream: PaneStream) -> None:
        """Keep the lane's state true to its screen between laneboard's own turns (a
        dialog raised after someone typed into the attached pane): `lanes.screen_watch`."""
        from laneboard.lanes.screen_watch import watch_screen

        def report(state: LaneState, detail: str) -> None:
            if rt.harness is harness and rt.state in ("ready", "busy", "waiting"):
                self._set_state(rt, state, detail)

        await watch_screen(
            self.relay_for(rt), stream, harness.classify,  # type: ignore[attr-defined]
            report, lambda: rt.in_flight is not None or rt.harness is not harness,
        )

    async def _watch_output(self, rt: LaneRuntime, harness: Harness, stream: PaneStream) -> None:
        """Feed the lane's pane output to its watchdog; interrupt the lane when it trips."""
        async for text in stream.subscribe():
            if rt.harness is not harness:
                return
            if rt.tripped is None and rt.watchdog.feed(text):
                rt.tripped = rt.watchdog.reason
                message = f"degenerate output ({rt.tripped}); interrupted the lane"
                rt.last_error = message
                log.warning("lane %s: %s", rt.id, message, extra={"lane": rt.id})
                self.hub.publish(LaneErrored(rt.id, "watchdog", message))
                with contextlib.suppress(HarnessError, OSError):
                    await harness.interrupt()

    async def stop_lane(self, lane_id: str) -> None:
        """Stop a lane because a person asked: it is not restarted automatically, by this
        process or any other (the stop is published before the window is closed, so a
        supervisor that sees the lane die already knows why)."""
        rt = self.lane(lane_id)
        rt.user_stopped = True
        self._publish(rt, user_stopped=True)
        harness, rt.harness = rt.harness, None
        for t in rt.tasks:
            t.cancel()
        rt.tasks = []
        with contextlib.suppress(HarnessError, OSError):
            if harness is not None:
                await harness.stop()
            elif not rt.is_exec:
                await self._kill_window(rt)  # started by another process: close it in tmux
        rt.pid = None
        await self.relays.release_forward(rt.id)
        self._set_state(rt, "stopped")

    async def _kill_window(self, rt: LaneRuntime) -> None:
        """Close the lane's tmux window, whoever started it (a fresh harness would not
        know it: harnesses find their window only when they start)."""
        relay = self.relay_for(rt)
        if not await relay.server_running():
            return
        window = await relay.find_lane(self.session, rt.id)
        if window is not None:
            await relay.kill_lane(window)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop_lane(i) for i in self.lanes))

    async def restart_lane(self, lane_id: str) -> None:
        await self.stop_lane(lane_id)
        await self.start_lane(lane_id, by_user=True)

    async def close(self) -> None:
        """Detach: stop watching, leave every lane running in tmux for the next cockpit."""
        self._closed = True
        for rt in self.lanes.values():
            for t in rt.tasks:
                t.cancel()
            rt.tasks = []
        # Every task the supervisor started, including a monitor that is in a backoff or
        # in the middle of a restart (no longer in its lane's list): none may outlive the
        # loop ("Task was destroyed but it is pending"), and none may hold shutdown up.
        me = asyncio.current_task()
        pending = [t for t in self._tasks if t is not me and not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=self.CLOSE_S)
        for rt in self.lanes.values():
            await detach(rt.harness)
        self._save()
        await self.statefile.flush()
        await asyncio.to_thread(self._published_now)
        self._publisher.shutdown(wait=False)  # idle now; a later publish writes in place
        self.hub.close()
        # detaches the control clients and SSH links; tmux (here and remote) keeps the lanes
        await self.relays.close()

    # ------------------------------------------------------------------ models

    def _advance(self, rt: LaneRuntime, err: ProviderError) -> bool:
        """Move to the next usable model of the chain; False when none is left or strict."""
        switched = advance(rt, err, self.cooldowns)
        if switched is not None:
            self.hub.publish(switched)
        return switched is not None

    async def switch_model(self, lane_id: str, ref: str) -> None:
        """An explicit, strict model choice; waits for the lane to be idle if it is busy."""
        rt = self.lane(lane_id)
        candidates = lane_candidates(self.cfg, lane_id, ref)  # raises ModelRefError
        if rt.queue.locked():
            rt.pending_model = ref
            self.hub.publish(ModelSwitchPending(rt.id, candidates[0].key))
            async with rt.queue:
                if rt.pending_model != ref:
                    return  # superseded by a later switch
                rt.pending_model = None
                await self._apply_model(rt, candidates)
            return
        async with rt.queue:
            await self._apply_model(rt, candidates)

    async def _apply_model(self, rt: LaneRuntime, candidates: list[Candidate]) -> None:
        rt.candidates, rt.index, rt.explicit = candidates, 0, True
        rec = self.statefile.lane(rt.id)
        rec.model, rec.explicit = candidates[0].key, True
        self._save()
        self.hub.publish(ModelSwitched(rt.id, candidates[0].key, True, "selected by the user"))
        if rt.harness is not None:
            await self._replace_harness(rt)

    async def _replace_harness(self, rt: LaneRuntime) -> None:
        old, rt.harness = rt.harness, None
        for t in rt.tasks:
            t.cancel()
        rt.tasks = []
        if old is not None:
            with contextlib.suppress(HarnessError, OSError):
                await old.stop()
        await self._start(rt)

    async def observe(self) -> None:
        """Read what runs in tmux (state, pid) without starting or adopting anything."""
        pubs = self._read_published()
        windows, unreachable = await self.relays.windows(self.session, self.lanes)
        for rt in self.lanes.values():
            if rt.id in unreachable:
                rt.state, rt.detail = "failed", unreachable[rt.id]
                continue
            pub = pubs.get(rt.id)
            if pub is not None:
                rt.last_error = pub.last_error
                rt.user_stopped = pub.user_stopped
                rt.delay_s = pub.delay_s if pub.state == "restarting" else None
                rt.history.consecutive_failures = pub.attempt
            fresh = pub is not None and not pub.stale
            w = windows.get(rt.id)
            said: LaneState | None = as_state(pub.state) if pub is not None and fresh else None
            if w is None:
                if said in ("failed", "restarting", "starting") or (rt.is_exec and said):
                    rt.state, rt.detail = said, pub.detail if pub else ""
                elif not rt.is_exec:
                    rt.state, rt.detail = "stopped", pub.detail if pub and said == "stopped" else ""
                continue
            rt.pid = w.pid
            if w.dead:
                if said == "restarting":
                    rt.state, rt.detail = "restarting", pub.detail if pub else ""
                else:
                    rt.state, rt.detail = "failed", f"exited ({w.dead_status})"
            elif said in ("ready", "busy", "waiting", "starting", "failed"):
                # a supervisor that gave up on a lane whose window still runs (e.g. one held
                # by another harness) said so last: every start publishes before it runs
                rt.state, rt.detail = said, pub.detail if pub else ""
            else:
                rt.state, rt.detail = "ready", "running in tmux"

    # ------------------------------------------------------------------ sending

    async def deliver(
        self, lane_id: str, prompt: str, *, timeout: float = 60.0,
        defer: Callable[[], None] | None = None,
    ) -> str:  # fmt: skip
        """Send without waiting for the answer: "delivered" once the harness says the agent
        took the prompt (`TurnStarted`: the submit was verified), or the finished turn's
        state if it ended first, or "timed-out" when neither happened within `timeout`.

        The turn itself goes on in the lane (its pane, its process); nothing here waits
        for it. Starts the lane if needed, and queues behind other sends like `send`.
        """
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            self.send(lane_id, prompt, timeout=timeout, started=started, defer=defer)
        )
        either: set[asyncio.Future[Any]] = {started, task}
        # A deferred send ends itself at its deadline, saying why (LaneError: still busy,
        # nothing sent); this wait only backs it up, a little later, so the reason wins.
        limit = timeout if defer is None else timeout + DEFER_GRACE_S
        try:
            await asyncio.wait(either, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task.done():
            return task.result().state
        task.cancel()  # stop waiting for the answer; the lane keeps working on it
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return "delivered" if started.done() else "timed-out"

    async def send(
        self,
        lane_id: str,
        prompt: str,
        *,
        timeout: float = 600.0,
        route: dict[str, object] | None = None,
        lock_timeout: float | None = None,
        started: asyncio.Future[None] | None = None,
        defer: Callable[[], None] | None = None,
    ) -> TurnResult:
        """Deliver one prompt to a lane (starting it if needed) and wait for the turn's end.

        Sends to one lane are serialised in order, across processes too; exec runs also
        take their provider profile's lock (module docstring). A provider error on a
        configured default fails over along the chain; on an explicit choice the turn
        fails visibly (state "failed", error set). `started` is resolved when the agent
        took the prompt. Raises LaneError when a lock is not had within `lock_timeout`
        (default: `timeout`) or the lane cannot start.

        With `defer` (`send --defer-if-busy`), a lane whose screen shows it busy is waited
        for, inside the lane lock (`_defer_until_idle`), and `defer` is called once when it
        was busy; the wait counts against `timeout`.
        """
        rt = self.lane(self.pick(lane_id))
        wait = timeout if lock_timeout is None else lock_timeout
        # The one choke point every path to a model goes through (`laneboard send`, the
        # cockpit's prompt bar and ctrl+r / ctrl+t, dispatch and triage, review, helpers):
        # secrets are replaced here, so no front end can forget to. Idempotent, so callers
        # that redacted already (review) lose nothing; the count rides on the turn's extra.
        prompt, redacted = self._redact(prompt)
        async with rt.queue:
            lane_lock = AsyncFileLock(str(lock_path(self.socket, f"lane-{rt.id}")), timeout=wait, mode=0o600)
            try:
                await lane_lock.acquire()
            except LockTimeout:
                raise LaneError(
                    f"lane {rt.id!r} is driven by another laneboard process; gave up after {wait:g}s"
                ) from None
            rt.on_turn_started = started
            try:
                if defer is not None:
                    timeout = await self._defer_until_idle(rt, timeout, defer)
                result = await self._send_locked(rt, prompt, timeout, route or {}, wait)
                if redacted:
                    result.extra["prompt_redactions"] = sum(redacted.values())
                    result.extra["prompt_redaction_kinds"] = redacted
                return result
            finally:
                rt.on_turn_started = None
                await lane_lock.release()

    async def _defer_until_idle(
        self, rt: LaneRuntime, timeout: float, defer: Callable[[], None]
    ) -> float:
        """Wait, holding the lane lock, until the lane's screen shows it ready; the time
        left of `timeout`. Why here: `deliver` lets go of the lock once the agent took its
        prompt, while the agent still works, so the lock alone cannot tell a busy lane;
        and waiting inside it keeps any other send from slipping in between the wait and
        the typing. Raises LaneError when the lane stays busy past `timeout`."""
        deadline = time.monotonic() + timeout
        await self._wait_start_settled(rt, timeout)
        if rt.harness is None or rt.state in ("failed", "stopped"):
            self._claim(rt)
            await self._start(rt)
            if rt.harness is None:
                raise LaneError(f"lane {rt.id!r} could not start: {rt.last_error}")
        left = max(0.0, deadline - time.monotonic())
        if not await rt.harness.wait_idle(left, on_busy=defer):
            raise LaneBusy(f"lane {rt.id!r} stayed busy for {timeout:g}s; the prompt was not sent")
        return max(1.0, deadline - time.monotonic())

    def _redact(self, prompt: str) -> tuple[str, dict[str, int]]:
        """`prompt` with its secrets replaced (`artifacts.redaction`, on by default), and
        how many of each kind were replaced."""
        if not self.cfg.artifacts.redaction:
            return prompt, {}
        if self._redactor is None:
            from laneboard.lanes.redaction import make_redactor

            self._redactor = make_redactor(self.cfg)
        result = self._redactor.redact(prompt)
        return result.text, result.kinds

    def provider_profile(self, rt: LaneRuntime) -> str | None:
        """What a lane's runs share with other lanes: `provider` or `provider@profile`."""
        return provider_profile(rt)

    async def _provider_lock(self, rt: LaneRuntime, wait: float) -> AsyncFileLock | None:
        """Take the provider-profile lock of an exec lane (None for interactive lanes)."""
        profile = self.provider_profile(rt) if rt.is_exec else None
        if profile is None:
            return None
        lock = AsyncFileLock(str(lock_path(None, f"provider-{profile}")), timeout=wait, mode=0o600)
        try:
            await lock.acquire(blocking=False)
            return lock
        except LockTimeout:
            pass
        self._set_state(rt, "busy", f"waiting for provider {profile}")
        try:
            await lock.acquire()
        except LockTimeout:
            raise LaneError(
                f"lane {rt.id!r}: provider profile {profile!r} stayed busy with another run "
                f"for {wait:g}s; try again, or give the lane its own provider"
            ) from None
        return lock

    async def _send_locked(
        self,
        rt: LaneRuntime,
        prompt: str,
        timeout: float,
        route: dict[str, object],
        lock_wait: float,
    ) -> TurnResult:
        started = time.time()
        while True:
            await self._wait_start_settled(rt, timeout)
            if rt.harness is None or rt.state in ("failed", "stopped"):
                self._claim(rt)
                await self._start(rt)
                if rt.harness is None:
                    raise LaneError(f"lane {rt.id!r} could not start: {rt.last_error}")
            cand = rt.candidate
            rt.in_flight = prompt
            self._set_state(rt, "busy", SENDING)
            try:
                plock = await self._provider_lock(rt, lock_wait)
            except LaneError:
                rt.in_flight = None
                self._set_state(rt, "ready")
                raise
            rt.watchdog.reset()
            rt.tripped = None
            cuts = self._gateway_cuts(rt)
            try:
                try:
                    harness = rt.harness
                    assert harness is not None
                    result = await harness.send(prompt, timeout=timeout)
                finally:
                    if plock is not None:
                        await plock.release()
                    self._gateway_tripped(rt, cuts)
            except ProviderError as e:
                rt.in_flight = None
                if e.fails_over and self._advance(rt, e):
                    await self._replace_harness(rt)  # the harness's spec names the old model
                    continue
                rt.last_error = str(e)
                strict = " (explicitly selected: no fallback)" if rt.explicit else ""
                self.hub.publish(LaneErrored(rt.id, e.kind, f"{e}{strict}"))
                self._set_state(rt, "ready")
                result = TurnResult(
                    reply="",
                    state="failed",
                    error=f"{cand.key if cand else rt.id}: {e}{strict}",
                    model=cand.key if cand else None,
                    started=started,
                )
                self._finish_turn(rt, prompt, result, route)
                return result
            except HarnessError as e:
                rt.in_flight = None
                rt.last_error = str(e)
                self.hub.publish(LaneErrored(rt.id, type(e).__name__, str(e)))
                if rt.state == "busy":
                    self._set_state(rt, "ready")
                result = TurnResult(
                    reply="",
                    state="timed-out" if isinstance(e, HarnessTimeout) else "failed",
                    error=str(e),
                    model=cand.key if cand else None,
                    started=started,
                )
                self._finish_turn(rt, prompt, result, route)
                return result
            rt.in_flight = None
            if rt.tripped is not None:
                result.state = "failed"
                result.error = f"watchdog: degenerate output ({rt.tripped}); the lane was interrupted"
            if cand is not None:
                self.cooldowns.succeed(cand.key)
                if result.model is None:
                    result.model = cand.key
            if rt.state == "busy":
                self._set_state(rt, "ready")
            self._finish_turn(rt, prompt, result, route)
            return result

    def _finish_turn(
        self, rt: LaneRuntime, prompt: str, result: TurnResult, route: dict[str, object]
    ) -> None:
        warning = account_turn(rt, prompt, result, self.statefile.lane(rt.id))
        if warning is not None:
            self.hub.publish(warning)
        self.sync_gateway_usage()
        self._save()
        self.hub.publish(LaneUsageUpdated(rt.id, rt.usage, rt.prompts))
        self.hub.publish(TurnCompleted(rt.id, prompt, result, route))

    def _save(self) -> None:
        # write-behind: a turn's result does not wait for the fsync (statefile docstring);
        # a failed write is logged there, never failing a turn; close() flushes
        self.statefile.save_soon()
