"""Per-lane scrollback kept outside the widgets, so only visible logs are ever rendered.

Output events arrive as raw pane text in arbitrary chunks. `PaneBuffers.feed` normalises a
chunk (line endings, carriage-return overwrites, escape sequences other than colours) and
appends it to the lane's bounded buffer and, while a log shows the lane, to its *pending*
text. The screen moves pending text into that log at most every ~70 ms (`take`); a lane
nobody is looking at just accumulates lines, and a log that starts showing a lane is
refilled from them (`refill`).

Why not one `Log` per lane, always updated: Textual repaints at ~50 fps whenever any widget
changes; eight hidden logs being written would cost CPU for nothing (issue 8 measured it).

Colour (SGR) sequences are kept for `LaneLog`, which renders them with `Text.from_ansi`;
cursor movement, OSC titles and other controls are dropped (a log is not a terminal). That
filtering is the core's (`laneboard.harnesses.ansi.SgrStream`, one stream per lane, so a
sequence cut between two chunks is joined before it is filtered).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from laneboard.harnesses.ansi import SgrStream

#: Lines of scrollback kept per lane (and shown by a LaneLog): bounded memory per lane.
MAX_LINES = 2000


@dataclass
class LaneBuffer:
    """One lane's bounded scrollback plus the text not yet shown."""

    lines: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    stream: SgrStream = field(default_factory=SgrStream)
    partial: str = ""
    pending: list[str] = field(default_factory=list)
    pending_chars: int = 0

    def feed(self, text: str, *, pending: bool = True) -> None:
        """Append `text`; `pending=False` keeps it out of the text still to be shown (no
        log shows the lane: it is shown from `text()` when one starts to)."""
        if not text:
            return
        if pending:
            self.pending.append(text)
            self.pending_chars += len(text)
            if self.pending_chars > 64 * MAX_LINES:  # nobody flushed for a while: the tail
                joined = "".join(self.pending)[-32 * MAX_LINES :]
                self.pending, self.pending_chars = [joined], len(joined)
        parts = (self.partial + text).split("\n")
        self.partial = parts.pop()
        self.lines.extend(parts)

    def take(self) -> str:
        out = "".join(self.pending)
        self.pending.clear()
        self.pending_chars = 0
        return out

    def text(self) -> str:
        """Everything kept, for refilling a log that starts showing this lane."""
        body = "\n".join(self.lines)
        if self.lines:
            body += "\n"
        return body + self.partial


class PaneBuffers:
    """The buffers of every lane, plus which lanes have text not yet flushed."""

    def __init__(self) -> None:
        self._lanes: dict[str, LaneBuffer] = {}
        self.dirty: set[str] = set()

    def buffer(self, lane: str) -> LaneBuffer:
        buf = self._lanes.get(lane)
        if buf is None:
            buf = self._lanes[lane] = LaneBuffer()
        return buf

    def feed(self, lane: str, data: str, *, shown: bool = True) -> None:
        """Append raw pane output (ANSI kept) to `lane`. `shown=False`: no log shows the
        lane, so nothing is pending for a flush (with 64 lanes streaming, hidden lanes kept
        a flush timer running for text that was thrown away; issue 18)."""
        buf = self.buffer(lane)
        text = buf.stream.feed(data)
        if text:
            buf.feed(text, pending=shown)
            if shown:
                self.dirty.add(lane)

    def note(self, lane: str, line: str) -> None:
        """Append a cockpit line (a sent prompt, a turn's end), on a line of its own."""
        buf = self.buffer(lane)
        prefix = "\n" if buf.partial else ""
        buf.feed(f"{prefix}{line}\n")
        self.dirty.add(lane)

    def take(self, lane: str) -> str:
        return self.buffer(lane).take()

    def refill(self, lane: str) -> str:
        """Everything kept for a log that starts showing `lane`; what was pending is in it,
        so it is dropped (else the next flush would append it a second time)."""
        buf = self.buffer(lane)
        buf.take()
        self.dirty.discard(lane)
        return buf.text()

    def text(self, lane: str) -> str:
        return self.buffer(lane).text()

    def plain_tail(self, lane: str, chars: int = 4000) -> str:
        """The last `chars` characters of a lane's text without escapes (for escalation)."""
        from laneboard.harnesses.ansi import strip

        return strip(self.text(lane))[-chars:]
