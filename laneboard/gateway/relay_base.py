"""What every protocol's relay shares: counting, watching, and holding calls for routing.

Why a base apart from the protocol relays: routing a tool call (see
`gateway.tool_routing`) is the same dance on every protocol — hold the complete call,
let the server ask the routed model (`pending`), put its input in the call, let the fence
judge the call that goes to the CLI — while where a call lives in a stream or a body
differs per protocol. The dance lives here once; each relay says where its calls are.

Streamed: a relay that meets routed calls sets `pending` to the first and returns
nothing; the server asks and calls `resolve` until `pending` is None; the last `resolve`
returns the events to send (built by the relay's continuation). Whole bodies:
`whole_routed` asks for every routed call in the body, writes each answer into a copy,
then `whole` judges it as the CLI will get it.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from laneboard.gateway.framing import parse_sse
from laneboard.gateway.protocols import Protocol, Usage, take_usage, text_of
from laneboard.gateway.registry import ToolRoute
from laneboard.gateway.tool_routing import route_for
from laneboard.gateway.wire_fence import WireFence, refusal_text
from laneboard.harnesses.watchdog import RepetitionWatchdog

MAX_TEXT = 64 * 1024


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class PendingCall:
    """A complete tool call whose name a route matches, waiting for the routed model."""

    tool: str
    route: ToolRoute
    block: dict[str, Any]
    """The call as the primary made it (for a whole body: the dict `key` is set in)."""
    held: list[bytes]
    tool_input: Any
    kind: str = "tool_use"
    """The call's type on the wire (`tool_use`, `function_call`, `custom_tool_call`,
    `function`): a freeform tool is forced and read differently from a function."""
    key: str = "input"
    """Where in `block` the call's input lives."""
    skipped: str = ""
    """Set by the asker when no candidate could be asked (no credential): why."""


Ask = Callable[[PendingCall], Awaitable[tuple[Any, str | None]]]
"""Asks a routed model for a pending call: (its input, the model that answered), or
(None, None) when the primary's call stands."""

Then = Callable[[list[tuple[PendingCall, Any]]], list[bytes]]


class Relay:
    """Base: counts, watches, and passes events through unchanged."""

    proto: Protocol = "other"

    def __init__(self, fence: WireFence, tools: Sequence[ToolRoute] = ()) -> None:
        self.fence = fence
        self.routes = tuple(tools)
        self.pending: PendingCall | None = None
        """A tool call held for its routed model: the server asks it, then `resolve`s."""
        self.routed: list[dict[str, Any]] = []
        """The calls answered by a routed model: tool, lane, model."""
        self.route_skipped: list[str] = []
        """Tools whose route had no candidate with a credential (the primary's call stood)."""
        self.usage = Usage()
        self.tools: list[str] = []
        self.refused: list[str] = []
        self.watchdog = RepetitionWatchdog()
        self.cut = ""
        self.text: list[str] = []
        """The model's text so far (bounded by `MAX_TEXT`), for the turn artifact."""
        self._text_left = MAX_TEXT
        self._unwatched: list[str] = []
        self.error: str | None = None
        """Why the relayed response failed (for the turn artifact); None: it did not."""
        self._queue: list[PendingCall] = []
        self._answers: list[tuple[PendingCall, Any]] = []
        self._then: Then | None = None

    def _watch(self, data: Any) -> None:
        text = text_of(self.proto, data)
        if text:
            if self._text_left > 0:
                self.text.append(text[: self._text_left])
                self._text_left -= len(text)
            self._unwatched.append(text)

    def end_chunk(self) -> None:
        """Feed the repetition watchdog what the events of one upstream read said, in one
        piece (per event, its tail copy and unit scan were a per-event cost); `cut` is set
        when it trips. Called after each read, so the stream is still watched as it comes."""
        if self._unwatched:
            text = "".join(self._unwatched)
            self._unwatched.clear()
            if self.watchdog.feed(text):
                self.cut = self.watchdog.reason or "degenerate output"

    def feed(self, raw: bytes) -> list[bytes]:
        data = parse_sse(raw).data
        take_usage(self.proto, data, self.usage)
        self._watch(data)
        return [raw]

    def finish(self) -> list[bytes]:
        return []

    # -- routing ----------------------------------------------------------------------

    def route_of(self, name: str) -> ToolRoute | None:
        return route_for(self.routes, name) if self.routes else None

    def _route_calls(self, calls: list[PendingCall], then: Then) -> list[bytes]:
        """Hold `calls` for their routed models; `then(answers)` makes the events to send
        once every one is answered (an answer None: the primary's call stands)."""
        self._queue, self._answers, self._then = calls[1:], [], then
        self.pending = calls[0]
        return []

    def _note(self, p: PendingCall, new_input: Any, model: str | None) -> None:
        if new_input is not None:
            self.routed.append({"tool": p.tool, "lane": p.route.lane, "model": model})
        elif p.skipped:
            self.route_skipped.append(p.tool)

    def resolve(self, new_input: Any | None, model: str | None) -> list[bytes]:
        """Answer `pending`; the next held call becomes pending, or, after the last, the
        relay's continuation says what goes to the CLI."""
        p, self.pending = self.pending, None
        if p is None:
            return []
        self._note(p, new_input, model)
        self._answers.append((p, new_input))
        if self._queue:
            self.pending = self._queue.pop(0)
            return []
        then, answers, self._then, self._answers = self._then, self._answers, None, []
        return then(answers) if then is not None else []

    def whole_calls(self, body: Any) -> list[PendingCall]:
        """The routed calls in a whole response body (each relay knows where they are)."""
        return []

    async def whole_routed(self, body: Any, ask: Ask) -> Any:
        """A non-streamed body with every routed call answered by its routed model (the
        call keeps the primary's id and name; only its input changes), then judged by
        `whole` as the CLI will get it."""
        if self.routes and self.whole_calls(body):
            copied = copy.deepcopy(body)
            changed = False
            for p in self.whole_calls(copied):
                new_input, model = await ask(p)
                self._note(p, new_input, model)
                if new_input is not None:
                    p.block[p.key] = new_input
                    changed = True
            if changed:
                body = copied
        return self.whole(body)

    def whole(self, body: Any) -> Any:
        """A non-streamed response body: count, check, return it (changed or not)."""
        take_usage(self.proto, body, self.usage)
        return body

    def _refuse(self, tool: str, commands: list[str]) -> str | None:
        self.tools.append(tool)
        hit = self.fence.refused(commands) if self.fence else None
        if hit is None:
            return None
        self.refused.append(tool)
        return refusal_text(tool, hit)
