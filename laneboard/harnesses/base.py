"""The harness contract: what every agent driver offers the supervisor.

A harness drives one lane's agent: `start` brings it to ready, `send` delivers one prompt
and waits for the turn to end, `events` streams what happens meanwhile, `interrupt` and
`stop` end work, `health` says whether the agent is alive.

Events of one `send`: `StateChanged` (busy), `TurnStarted` once the agent has the prompt
(what `laneboard send` without `--wait` waits for), `OutputReceived` as output arrives,
`ErrorRaised` for a refused dialog (kind "fence"), a watchdog trip or a provider error,
then `UsageReported` and `TurnFinished`. A harness that does not watch its own output for
degenerate repetition (`watches_output` False) offers its pane's raw stream through
`output_stream()`, and the supervisor watches it.

Errors (see `laneboard.errors`): `BinaryMissing` when the CLI is absent, `SetupBlocked`
when the agent shows a dialog laneboard must not answer, `ProviderError` (with a `kind`)
when the model endpoint fails, `HarnessTimeout` when a deadline passes, `FenceViolation`
when the agent did what its fence forbids. Every wait has a deadline.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from laneboard.core.harness_kinds import kind as harness_kind
from laneboard.core.hub import Hub
from laneboard.core.vocabulary import WRITABLE_FENCES, HarnessName, LaneState, TurnState
from laneboard.core.vocabulary import FenceName as Fence

if TYPE_CHECKING:
    from laneboard.harnesses.tmux_control import PaneStream

__all__ = ["WRITABLE_FENCES", "Fence", "LaneState"]  # re-exported: the lanes layer reads them here


def binary_of(name: HarnessName) -> str:
    """The program a CLI harness runs, from the registry (the one place that names it), so
    a harness's default binary and its install hint cannot drift from what preflight
    probes. Raises ValueError for a kind that runs no program of its own."""
    binary = harness_kind(name).binary
    if binary is None:
        raise ValueError(f"the {name} harness runs no program of its own")
    return binary


@dataclass(frozen=True)
class HarnessSpec:
    """Everything a harness needs to run one lane, already resolved by the lanes layer.

    `model` is the provider-side model id (no provider prefix, e.g. `gpt-5.5`);
    `fallback_models` the ids the CLI itself may fall back to; `thinking` the reasoning
    effort (low|medium|high) or None. `env` is merged over the inherited environment;
    `secret_env` names variables whose values must never be logged.
    """

    lane: str
    harness: str
    mode: str = "interactive"
    model: str | None = None
    provider: str | None = None
    fallback_models: tuple[str, ...] = ()
    thinking: str | None = None
    fence: Fence = "read-only"
    deny: tuple[str, ...] = ()
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None
    api_key_env: str | None = None
    command: tuple[str, ...] = ()
    ready_pattern: str | None = None
    busy_pattern: str | None = None
    context_window: int | None = None
    temperature: float | None = None
    """The model's sampling temperature (config `params.temperature`); None leaves the
    endpoint's default. Only the HTTP harnesses send it: the agent CLIs have no flag."""
    max_output_tokens: int | None = None
    """Cap on tokens generated per turn (config `params.max_output_tokens`); as above."""
    kind: str = "chat"
    tree_ignore: tuple[str, ...] = ()
    """Absolute paths laneboard itself writes to (the artifact store) that a plan lane's
    unchanged-tree check must not count as the agent's doing."""
    control_socket: str | None = None
    """The conductor's control socket, set only for a lane allowed to delegate: its agent
    CLI is given laneboard's MCP server (`laneboard mcp`, server name `laneboard`)."""
    lane_token: str | None = field(default=None, repr=False)
    """The lane's token on that socket (who the MCP server speaks for); never logged."""


@dataclass
class Usage:
    """Token use and cost of one turn, where the harness reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd

    def as_dict(self) -> dict[str, object]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True)
class OutputReceived:
    """New output from the lane (plain text, ANSI kept; strip with `ansi.strip`)."""

    lane: str
    data: str


@dataclass(frozen=True)
class StateChanged:
    """The lane's state as the harness sees it; `detail` says why (e.g. the dialog shown)."""

    lane: str
    state: LaneState
    detail: str = ""


@dataclass(frozen=True)
class UsageReported:
    lane: str
    usage: Usage


@dataclass(frozen=True)
class ErrorRaised:
    """Something went wrong; `kind` mirrors ProviderError kinds plus watchdog/fence/exit."""

    lane: str
    kind: str
    message: str


@dataclass(frozen=True)
class TurnStarted:
    """The agent took the prompt: the harness saw the turn begin (a busy screen, the prompt
    in the transcript) or, where nothing shows that, the prompt was submitted."""

    lane: str


@dataclass(frozen=True)
class TurnFinished:
    lane: str
    result: TurnResult


HarnessEvent = (
    OutputReceived | StateChanged | UsageReported | ErrorRaised | TurnStarted | TurnFinished
)


@dataclass
class TurnResult:
    """The outcome of one `send`: the reply text and how the turn ended."""

    reply: str
    state: TurnState = "done"
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    model: str | None = None
    started: float = field(default_factory=time.time)
    finished: float = field(default_factory=time.time)
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    alive: bool
    pid: int | None = None
    detail: str = ""


class Harness(ABC):
    """One agent driver. Subclasses set `kind` and implement the abstract methods."""

    kind: str = ""
    #: Whether this harness watches its own output for degenerate repetition (and
    #: interrupts the lane when it trips). Harnesses that do not — the full-screen agent
    #: CLIs, whose answers come from transcripts — leave it to the supervisor, which
    #: watches `output_stream()`.
    watches_output: bool = False

    def __init__(self, spec: HarnessSpec) -> None:
        self.spec = spec
        self.hub: Hub[HarnessEvent] = Hub()
        self.state: LaneState = "stopped"
        #: True when `start()` found the lane's agent already running (in its tmux
        #: window, left by an earlier laneboard) and took it over instead of starting one.
        #: The supervisor reports it and does not reset such a lane's turn counters.
        self.adopted = False

    def _set_state(self, state: LaneState, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.hub.publish(StateChanged(self.spec.lane, state, detail))

    def events(self) -> AsyncIterator[HarnessEvent]:
        """Subscribe to this harness's events (each call is a new subscription).

        The subscription is registered by this call, not by the first `async for` step, so
        the `StateChanged("starting")` of a `start()` begun right after is never lost.
        """
        return aiter(self.hub.subscribe())

    @abstractmethod
    async def start(self) -> None:
        """Start the agent (or adopt a running one) and wait until it is ready."""

    @abstractmethod
    async def send(self, prompt: str, *, timeout: float = 600.0) -> TurnResult:
        """Deliver `prompt`, wait for the turn to end, return the reply.

        Raises ProviderError / HarnessTimeout / SetupBlocked / FenceViolation.
        """

    @abstractmethod
    async def interrupt(self) -> None:
        """Stop the current turn, keep the agent running."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the agent and release its resources (its tmux window, its process)."""

    @abstractmethod
    async def health(self) -> Health:
        """Whether the agent process is alive."""

    async def detach(self) -> None:
        """Let go of the agent without stopping it: end this object's watchers and event
        streams, leave the process (and its tmux window) running for a later laneboard to
        adopt. Used when a supervisor shuts down but its lanes should outlive it, and
        before a dead lane is restarted. The default does nothing: a harness with no
        watcher tasks of its own (HTTP, the agent CLIs whose watchers run per turn) has
        nothing to let go of; one that has (the command harness) overrides it."""
        return None

    async def output_stream(self) -> PaneStream | None:
        """The lane's raw pane output (ANSI kept) while it runs in a pane; None otherwise."""
        return None

    async def wait_idle(self, timeout: float, on_busy: Callable[[], None] | None = None) -> bool:
        """Wait until the agent's screen shows it ready for a new prompt (`send
        --defer-if-busy`); True when it does, False when `timeout` passed first.
        `on_busy` is called once, at the first look that found it busy.

        Why it exists: the lane lock serialises laneboard's sends, but a send that does
        not wait for the answer (`deliver`) lets go of it while the agent still works, and
        a person may have typed into the pane; only the screen tells. The default is for
        harnesses with no screen (HTTP, headless runs): their turns run inside the lane
        lock, so holding the lock is already being idle."""
        return True
