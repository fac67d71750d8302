"""What the supervisor knows of one lane (`LaneRuntime`), and small readings of a harness.

Why apart from the supervisor: the record is plain data that the supervisor's parts
(liveness, failover, locks, turn accounting) and the cockpit's `LaneInfo` read; keeping
it here lets those parts be functions of a lane instead of methods of one 1000-line class.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from laneboard.config import LaneConfig
from laneboard.core.harness_kinds import KINDS
from laneboard.core.vocabulary import LANE_STATES, LaneState
from laneboard.errors import HarnessError
from laneboard.harnesses.base import Harness, Usage
from laneboard.harnesses.watchdog import PaneWatchdog
from laneboard.lanes.restart import StartHistory
from laneboard.lanes.specs import Candidate

#: Detail of the busy state the supervisor sets before the harness confirms the turn began.
SENDING = "sending"
#: The kinds whose lane is a long-lived process in a tmux pane (the registry's).
_PROCESS_HARNESSES = frozenset(k.name for k in KINDS.values() if k.transport == "tmux")


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class LaneRuntime:
    """Everything the supervisor tracks for one lane."""

    id: str
    config: LaneConfig
    history: StartHistory
    state: LaneState = "stopped"
    detail: str = ""
    harness: Harness | None = None
    candidates: list[Candidate] = field(default_factory=list)
    index: int = 0
    explicit: bool = False
    pending_model: str | None = None
    user_stopped: bool = False
    in_flight: str | None = None
    pid: int | None = None
    last_output: str = ""
    last_error: str | None = None
    usage: Usage = field(default_factory=Usage)
    prompts: int = 0
    restarts: int = 0
    context_tokens: int = 0
    context_warned: bool = False
    queue: asyncio.Lock = field(default_factory=asyncio.Lock)
    start_settled: asyncio.Event = field(default_factory=_set_event)
    """Clear while the supervisor starts the lane (`Supervisor._start`), set otherwise."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    watchdog: PaneWatchdog = field(default_factory=PaneWatchdog)
    tripped: str | None = None
    """Why the supervisor's watchdog interrupted the current turn (None: it did not)."""
    on_turn_started: asyncio.Future[None] | None = None
    """Resolved when the harness says the agent took the current prompt (`deliver`)."""
    held_failed: bool = False
    """A previous supervisor marked the lane failed: not started until a person asks."""
    started_at: float | None = None
    """monotonic time of the last successful start (a long run resets the backoff)."""
    delay_s: float | None = None
    """The backoff before the restart in progress (None when not restarting)."""

    @property
    def candidate(self) -> Candidate | None:
        return self.candidates[self.index] if self.candidates else None

    @property
    def is_exec(self) -> bool:
        return self.config.mode == "exec" or self.config.harness not in _PROCESS_HARNESSES

    def status(self) -> dict[str, object]:
        cand = self.candidate
        return {
            "id": self.id,
            "state": self.state,
            "detail": self.detail,
            "pid": self.pid,
            "restarts": self.restarts,
            "harness": self.config.harness,
            "role": self.config.role,
            "model": cand.key if cand else None,
            "tier": cand.tier if cand else None,
            "explicit": self.explicit,
            "fence": self.config.fence,
            "input": self.config.input,
            "usage": {**self.usage.as_dict(), "prompts": self.prompts},
            "context": {
                "used": self.context_tokens,
                "window": cand.context_window if cand else None,
            },
            "last_error": self.last_error,
            "user_stopped": self.user_stopped,
            "restart": {
                "attempt": self.history.consecutive_failures,
                "delay_s": self.delay_s,
            },
        }


def as_state(text: str) -> LaneState | None:
    """`text` as a lane state, None when it is not one (a published file from elsewhere)."""
    for state in LANE_STATES:
        if state == text:
            return state
    return None


async def exit_status(harness: Harness) -> int | None:
    """The exit status of a pane lane's program (None: unknown or not a pane lane).

    Pane harnesses hold their `relay` and `window`; the relay reads the status file the
    launcher wrote. Unknown counts as a failure for `on-failure`.
    """
    relay, window = getattr(harness, "relay", None), getattr(harness, "window", None)
    reader = getattr(relay, "exit_status", None)
    if reader is None or window is None:
        return None
    try:
        status = await reader(window)
    except (HarnessError, OSError):
        return None
    return status if isinstance(status, int) else None


async def detach(harness: Harness | None) -> None:
    """Stop a harness's own watchers without touching its lane (`Harness.detach`, a
    no-op for harnesses without watchers). Errors are swallowed: this runs on the way
    out of a supervisor, where one lane's failure must not keep the others attached."""
    if harness is not None:
        with contextlib.suppress(Exception):
            await harness.detach()
