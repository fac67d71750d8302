"""Per-lane scrollback kept outside the widgets, so only visible logs are ever rendered.

Output events arrive as raw pane text in arbitrary chunks. `PaneBuffers.feed` normalises a
chunk (line endings, carriage-return overwrites, escape sequences other than colours) and
appends it to the lane's bounded buffer and to its *pending* text. Every ~100 ms the screen
moves pending text into whichever log shows that lane (`take`); a lane nobody is looking at
just accumulates lines, and a log that starts showing a lane is refilled from `text`.

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

    def feed(self, text: str) -> None:
        if not text:
            return
        self.pending.append(text)
        self.pending_chars += len(text)
        if self.pending_chars > 64 * MAX_LINES:  # nobody flushed for a while: keep the tail
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

    def feed(self, lane: str, data: str) -> None:
        """Append raw pane output (ANSI kept) to `lane`."""
        buf = self.buffer(lane)
        text = buf.stream.feed(data)
        if text:
            buf.feed(text)
            self.dirty.add(lane)

    def note(self, lane: str, line: str) -> None:
        """Append a cockpit line (a sent prompt, a turn's end), on a line of its own."""
        buf = self.buffer(lane)
        prefix = "\n" if buf.partial else ""
        buf.feed(f"{prefix}{line}\n")
        self.dirty.add(lane)

    def take(self, lane: str) -> str:
        return self.buffer(lane).take()

    def text(self, lane: str) -> str:
        return self.buffer(lane).text()

    def plain_tail(self, lane: str, chars: int = 4000) -> str:
        """The last `chars` characters of a lane's text without escapes (for escalation)."""
        from laneboard.harnesses.ansi import strip

        return strip(self.text(lane))[-chars:]
