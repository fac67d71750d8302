"""What the supervisor tells its subscribers (the TUI, `laneboard up`, tests).

Facts, named in the past tense. The TUI turns each into a Textual message; nothing here
knows about Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from laneboard.core.vocabulary import LaneState
from laneboard.harnesses.base import TurnResult, Usage


@dataclass(frozen=True)
class LaneStateChanged:
    lane: str
    state: LaneState
    detail: str = ""


@dataclass(frozen=True)
class LaneOutput:
    """New pane output (ANSI kept) or streamed answer text for one lane."""

    lane: str
    data: str


@dataclass(frozen=True)
class LaneUsageUpdated:
    lane: str
    usage: Usage
    prompts: int


@dataclass(frozen=True)
class LaneErrored:
    """Something went wrong in a lane; kind: provider kinds, watchdog, fence, exit, start."""

    lane: str
    kind: str
    message: str


@dataclass(frozen=True)
class LaneRestartScheduled:
    """The lane died and will be restarted after `delay_s`; `attempt` counts consecutive
    failed runs (the delay doubles with each, up to the lane's `backoff_max_s`)."""

    lane: str
    attempt: int
    delay_s: float
    reason: str = ""


@dataclass(frozen=True)
class FenceTripped:
    """A fence denied something (a permission prompt naming a denied command, a changed tree)."""

    lane: str
    message: str


@dataclass(frozen=True)
class TurnCompleted:
    lane: str
    prompt: str
    result: TurnResult
    route: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSwitched:
    """The lane's model changed: by failover (explicit=False) or by the user (explicit=True)."""

    lane: str
    model: str
    explicit: bool
    reason: str = ""


@dataclass(frozen=True)
class ModelSwitchPending:
    """A switch the user asked for waits until the lane is idle."""

    lane: str
    model: str


@dataclass(frozen=True)
class ContextWarning:
    lane: str
    used: int
    window: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.window if self.window else 0.0


@dataclass(frozen=True)
class LaneScreen:
    """The visible screen of a full-screen lane (ANSI colours kept), replacing the last one.

    Published only while someone mirrors the lane (see `laneboard.lanes.mirror`).
    """

    lane: str
    screen: str


SupervisorEvent = (
    LaneStateChanged
    | LaneOutput
    | LaneScreen
    | LaneUsageUpdated
    | LaneErrored
    | LaneRestartScheduled
    | FenceTripped
    | TurnCompleted
    | ModelSwitched
    | ModelSwitchPending
    | ContextWarning
)
