"""Lane states read from the lane's screen whenever it changes, not only during our turns.

Why: a harness classifies its pane (`classify`: the pinned screen rules of
`harnesses/claude/screen.py` and `harnesses/codex/screen.py`) only while it drives a
turn. A person who attached to the pane (`ctrl+o`) and typed there, or an agent that
raised a dialog after laneboard's turn ended, left the lane's state stale — a permission
dialog nobody was told about. `watch_screen` runs beside every interactive agent lane:
after each burst of pane output (pushed by tmux control mode, no polling) it captures the
visible screen, at most once per `interval`, classifies it and moves the lane to
`waiting` / `busy` / `ready` through `report`. While laneboard itself drives a turn the
harness is the authority and the watch stays silent (`in_turn()`), so the two never
disagree. It never answers a dialog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from laneboard.core.vocabulary import LaneState
from laneboard.errors import HarnessError
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.harnesses.tmux_control import PaneStream

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.25
"""Seconds between two captures of one lane: a dialog is noticed within about this long,
and a spinner redrawing 10×/s costs at most 4 captures/s."""


class _Screen(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def detail(self) -> str: ...


def screen_state(screen: _Screen) -> tuple[LaneState, str] | None:
    """The lane state a classified screen means, with its detail; None for "no change"
    (starting, setup dialogs: the harness reports those)."""
    if screen.state == "waiting-permission":
        return "waiting", screen.detail or "a permission dialog is open"
    if screen.state == "busy":
        return "busy", "working (seen on its screen)"
    if screen.state == "ready":
        return "ready", ""
    return None


async def watch_screen(
    relay: TmuxRelay,
    stream: PaneStream,
    classify: Callable[[str], _Screen],
    report: Callable[[LaneState, str], None],
    in_turn: Callable[[], bool],
    *,
    interval: float = DEFAULT_INTERVAL,
) -> None:
    """Classify `stream`'s pane after each burst of output until the stream closes."""
    last_capture = 0.0
    seen = -1
    while not stream.closed:
        if stream.position == seen:
            await stream.wait()
            continue
        # rate limit, not synchronisation: one capture per burst of redraws
        delay = last_capture + interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        seen = stream.position
        last_capture = time.monotonic()
        if in_turn():
            continue
        try:
            text = await relay.screen(stream.pane_id)
        except HarnessError as exc:
            log.debug("screen watch of %s: capture failed: %s", stream.pane_id, exc)
            continue
        found = screen_state(classify(text))
        if found is not None and not in_turn():
            report(*found)
