"""A lane's pane: Textual's `Log` (a line API with a render cache) that shows ANSI colours.

`Log` ingests ~50k lines/s where `RichLog` manages ~3.6k (issue 8), but it shows plain
strings. This subclass keeps each line's SGR colour codes in the stored string and turns
only the *visible* lines into styled strips (`Text.from_ansi`, cached per line), while
widths and copied selections are taken from the text without escapes. `max_lines` bounds
memory; new text scrolls the view only when it is already at the bottom, so reading
scrollback is never yanked away.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.selection import Selection
from textual.strip import Strip
from textual.widgets import Log

from laneboard.harnesses.ansi import SGR
from laneboard.tui.buffers import MAX_LINES


def shows_text(line: str) -> bool:
    """True when the line shows something (not only spaces and colour codes)."""
    return bool(SGR.sub("", line).replace("\u2800", " ").strip())  # braille blank too


class LaneLog(Log):
    """The mirrored pane of one lane (`lane`), fed in batches by its screen."""

    DEFAULT_CSS = """
    LaneLog { scrollbar-size-vertical: 1; }
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
    """The scrollable size, without a layout of the whole screen when it changes.

    Textual's `Widget.virtual_size` is a layout reactive: each line a `Log` takes in
    re-laid out and repainted every widget on the screen (with 64 lanes in the table about
    17 ms a time, most of the cockpit's CPU while lanes stream, and what delayed keys;
    issue 18). A log's size on screen does not depend on how many lines it holds, so only
    its scrollbars are updated here (`watch_virtual_size`); a scrollbar that appears or
    goes still lays the screen out (`show_vertical_scrollbar` is a layout reactive)."""

    def __init__(self, lane: str | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, id=id, classes=classes)
        self.lane = lane
        if lane:
            self.border_title = lane

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)

    @classmethod
    def _process_line(cls, line: str) -> str:
        """Width and selection see the line without colour codes."""
        return super()._process_line(SGR.sub("", line) if "\x1b" in line else line)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """Copy what is shown: the selection's offsets are on the text without colour codes."""
        text = "\n".join(SGR.sub("", line) if "\x1b" in line else line for line in self._lines)
        return selection.extract(text), "\n"

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        raw = self._lines[y]
        if "\x1b" not in raw or self.text_selection is not None:
            return super()._render_line_strip(y, rich_style)
        cached = self._render_line_cache.get(y)
        if cached is not None:
            return cached
        text = Text.from_ansi(raw.expandtabs(), no_wrap=True, end="")
        text.stylize_before(rich_style)
        plain_width = cell_len(text.plain)
        strip = Strip(text.render(self.app.console), plain_width)
        self._render_line_cache[y] = strip
        return strip

    @property
    def at_bottom(self) -> bool:
        return self.is_vertical_scroll_end or self.max_scroll_y == 0

    def append(self, text: str) -> None:
        """Add pane text; follow it only when the view is at the bottom already.

        `Log.write` sizes the view before trimming to `max_lines`, so a batch taller than
        the pane arriving at the cap left the view past the end (blank rows) until a
        smaller batch came: the size is set again from the trimmed lines before scrolling.
        """
        if not text:
            return
        follow = self.at_bottom
        self.write(text, scroll_end=False)
        self.virtual_size = Size(self._width, self.line_count)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def show_screen(self, lane: str, screen: str) -> None:
        """Show a full-screen agent's mirrored screen in place of the previous one:
        runs of blank rows folded to one, bottom-aligned (the composer and status line
        are at the bottom)."""
        self.lane = lane
        self.border_title = lane
        # a screen is as wide as the lane's tmux window: cut it at the edge, as a smaller
        # terminal would, rather than offer a horizontal scrollbar
        self.styles.overflow_x = "hidden"
        lines: list[str] = []
        for line in screen.rstrip("\n").split("\n"):
            # agents leave tall empty gaps between the conversation (top) and the composer
            # (bottom); one blank row keeps the shape and lets both fit a small pane
            if shows_text(line) or (lines and shows_text(lines[-1])):
                lines.append(line)
        while lines and not shows_text(lines[-1]):
            lines.pop()
        self.clear()
        self.write_lines([line or " " for line in lines], scroll_end=True)  # Log drops ""

    def show(self, lane: str, text: str) -> None:
        """Start showing `lane`, filled with its buffered text, scrolled to the end."""
        self.styles.clear_rule("overflow_x")  # back to the stylesheet's (show_screen hides it)
        self.lane = lane
        self.border_title = lane
        self.clear()
        self.write(text, scroll_end=True)
