"""Which harness drives a lane: the registry row of its kind, wired to a tmux relay.

One relay (one tmux socket, one control-mode client per session) is shared by every lane
of a supervisor, so eight lanes cost one tmux client, not eight pollers. The caller (the
supervisor) passes a way to get that relay instead of itself: the factory never imports
the supervisor, so the two do not form an import cycle, and nobody writes the
supervisor's private state. Harness modules are imported only when a lane of that kind
runs (`HarnessKind.load()`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from laneboard.core.harness_kinds import HarnessKind, kind
from laneboard.errors import LaneError
from laneboard.harnesses.base import Harness, HarnessSpec

if TYPE_CHECKING:
    from laneboard.harnesses.tmux import TmuxRelay


def _in_tmux(row: HarnessKind, spec: HarnessSpec, relay: Callable[[], TmuxRelay],
             session: str) -> Harness:
    """A pane harness: it runs in a window of `session` on the shared relay."""
    harness: Harness = row.load()(spec, relay=relay(), session=session)
    return harness


def _over_http(row: HarnessKind, spec: HarnessSpec, relay: Callable[[], TmuxRelay],
               session: str) -> Harness:
    """An HTTP harness: it needs nothing but its spec (no tmux at all)."""
    harness: Harness = row.load()(spec)
    return harness


#: How each transport's harness classes are constructed (their keyword arguments).
_WIRING = {"tmux": _in_tmux, "http": _over_http}


def make_harness(spec: HarnessSpec, *, relay: Callable[[], TmuxRelay], session: str) -> Harness:
    """The harness for `spec`; a pane harness gets `relay()` (called only for those, so an
    HTTP-only supervisor never starts a tmux client) and `session`."""
    try:
        row = kind(spec.harness)
    except KeyError:
        raise LaneError(f"lane {spec.lane!r}: unknown harness {spec.harness!r}") from None
    return _WIRING[row.transport](row, spec, relay, session)
