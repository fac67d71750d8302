"""Noticing degenerate output: the same token or line repeated without end.

A broken tokenizer or a looping model can stream `<unused50><unused50>…` (or one line over
and over) until the context window is full, costing time and money while looking "busy".
`RepetitionWatchdog` reads the stream as it arrives and says when it has gone degenerate:

- a short unit (1-32 characters, not only whitespace) repeated back to back at least
  `min_repeats` times (200), or `min_char_repeats` times (1000) for a single character,
  because rules such as `-----` or `=====` in tables and headings are legitimately long;
- at least `min_lines` (50) identical non-blank lines in a row.

Ordinary prose, code (indentation, closing braces) and tables never reach those counts.
Streams are fed in arbitrary chunks, so only a bounded tail of the text is kept: the
last `_keep` characters for the unit rule, and at most `max_line` characters of the line
being written (a stream with no line breaks, like `<unused50><unused50>…`, must not grow
memory without bound; two lines that agree in their first `max_line` characters count
as the same line). The unit rule looks at the end of what was fed so far, so feed
the stream as it arrives (a run that starts and stops inside one big chunk is not
"without end").

`PaneWatchdog` applies the same rules to the raw output of a full-screen program in a
pane (see its docstring): the supervisor uses it for the agent CLIs, whose harnesses read
answers from transcripts and so never see the text stream themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from laneboard.harnesses import ansi


class RepetitionWatchdog:
    """Feed it streamed text; `feed` returns True once the output is degenerate (latched)."""

    def __init__(
        self,
        *,
        min_repeats: int = 200,
        min_char_repeats: int = 1000,
        min_lines: int = 50,
        max_unit: int = 32,
        max_line: int = 4096,
    ) -> None:
        self.min_repeats = min_repeats
        self.min_char_repeats = min_char_repeats
        self.min_lines = min_lines
        self.max_unit = max_unit
        self.max_line = max_line
        self._keep = max(max_unit * min_repeats, min_char_repeats) + max_unit
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new turn)."""
        self._tail = ""
        self._partial_line = ""
        self._last_line: str | None = None
        self._line_run = 0
        self.tripped = False
        self.reason = ""

    def feed(self, text: str) -> bool:
        """Take the next piece of the stream; True once it is degenerate (latched until
        `reset`, so a caller acts once per trip). `reason` then says what repeated."""
        if self.tripped or not text:
            return self.tripped
        self._tail = (self._tail + text)[-self._keep :]
        if self._check_lines(text) or self._check_units():
            self.tripped = True
        return self.tripped

    def _check_lines(self, text: str) -> bool:
        *complete, partial = (self._partial_line + text).split("\n")
        self._partial_line = partial[: self.max_line]
        for line in complete:
            line = line.rstrip("\r")[: self.max_line]
            if not line.strip():
                continue  # blank lines neither count nor break a run
            if line == self._last_line:
                self._line_run += 1
            else:
                self._last_line, self._line_run = line, 1
            if self._line_run >= self.min_lines:
                self.reason = f"the line {line[:60]!r} repeated {self._line_run} times"
                return True
        return False

    def _check_units(self) -> bool:
        tail = self._tail
        n = len(tail)
        for unit in range(1, self.max_unit + 1):
            repeats = self.min_char_repeats if unit == 1 else self.min_repeats
            span = unit * repeats
            if span > n:
                if unit == 1:
                    continue
                break
            # cheap rejection before comparing the whole span
            if tail[-1] != tail[-1 - unit]:
                continue
            window = tail[-span:]
            if window[unit:] != window[:-unit]:
                continue
            token = window[-unit:]
            if not token.strip():
                continue  # runs of spaces or newlines are layout, not degeneration
            if (token + token).find(token, 1) < unit:
                continue  # "----" is "-" repeated: judged by the single-character rule
            self.reason = f"{token_as_written(token)!r} repeated {repeats}+ times"
            return True
        return False


_OPENERS = "<[({\"'`"


def token_as_written(unit: str) -> str:
    """The rotation of a repeated `unit` a person would recognise: a chunk boundary can
    cut `<unused50>` into `ed50><unus`. Prefer the rotation that starts with an opening
    bracket or quote, else one that starts after a space, else the unit as seen."""
    rotations = [unit[i:] + unit[:i] for i in range(len(unit))]
    for rot in rotations:
        if rot[0] in _OPENERS and rot[-1] not in _OPENERS:
            return rot
    for rot in rotations:
        if rot[-1].isspace() and not rot[0].isspace():
            return rot
    return unit


#: One escape sequence (CSI, OSC, DCS/SOS/PM/APC, charset, two-byte) or a line break.
_PANE_TOKEN = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)
    | \x1b[PX^_][^\x1b]*\x1b\\
    | \x1b[()*+][0-~]
    | \x1b[@-Z\\-_=>78]
    | [\r\n]
    """,
    re.VERBOSE,
)
#: Cursor forward on the same row: how some TUIs (Codex) write the spaces between words.
_PANE_FORWARD = re.compile(r"\x1b\[(\d*)C")
#: Characters that carry no text: other C0 controls, box drawing and block elements
#: (borders and logos are redrawn whole, and are not what a model says).
_PANE_NOISE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2500-\u259f]")


class PaneWatchdog:
    """Degenerate output in a full-screen program's raw pane output (ANSI and all).

    A TUI such as Claude Code or Codex wraps a streamed answer over screen rows, writing
    each piece after a cursor move, and interleaves spinner and timer updates elsewhere
    on the screen. Read as plain text, a `<unused50>` answer is then neither one endless
    line (rows break it, at a different phase each row) nor many identical lines (unless
    the width is a multiple of the token). So two views are watched:

    - rows: cursor moves become line breaks (`ansi.strip_for_scan`) and a
      `RepetitionWatchdog` applies its rules (a line repeated `min_lines` times, a unit
      repeated back to back);
    - text: everything written, wherever on the screen, glued together (escape sequences
      and line breaks removed, a cursor step forward on the row read as a space — Codex
      writes spaces that way —, box drawing dropped). Once `period_window` characters
      near its end repeat a unit of 1-`max_unit` characters, the unit's share of the last
      `window` characters is counted; `min_share` or more is degenerate. Counting rather
      than asking for an unbroken run tolerates what a TUI mixes in: a spinner glyph, a
      timer digit, a row redrawn from the middle of the token.

    Prose, code, tables and the TUIs' own chrome stay far below those counts (measured on
    Claude Code 2.1.328 and Codex 0.169.0 panes). `feed` returns True once degenerate
    (latched until `reset`); `reason` then says what repeated.
    """

    def __init__(
        self,
        *,
        window: int = 2500,
        min_share: float = 0.8,
        max_unit: int = 32,
        period_window: int = 64,
        rows: Callable[[], RepetitionWatchdog] = RepetitionWatchdog,
    ) -> None:
        self.window = window
        self.min_share = min_share
        self.max_unit = max_unit
        self.period_window = max(period_window, 2 * max_unit)
        self.rows = rows()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new turn)."""
        self.rows.reset()
        self._held = ""  # an escape sequence cut off at the end of the last chunk
        self._text = ""  # the glued text, last `window` characters
        self._reason = ""

    @property
    def tripped(self) -> bool:
        return self.rows.tripped or bool(self._reason)

    @property
    def reason(self) -> str:
        return self.rows.reason or self._reason

    def feed(self, raw: str) -> bool:
        """Take the next chunk of raw pane output; True once it is degenerate."""
        if self.tripped or not raw:
            return self.tripped
        raw, self._held = _split_held(self._held + raw)
        if self.rows.feed(ansi.strip_for_scan(raw)):
            return True
        pieces: list[str] = []
        pos = 0
        for m in _PANE_TOKEN.finditer(raw):
            pieces.append(raw[pos : m.start()])
            pos = m.end()
            forward = _PANE_FORWARD.fullmatch(m.group())
            if forward is not None:
                pieces.append(" " * min(int(forward.group(1) or 1), 8))
        pieces.append(raw[pos:])
        text = _PANE_NOISE.sub("", "".join(pieces))
        if text:
            self._text = (self._text + text)[-self.window :]
            self._check_share()
        return self.tripped

    def _check_share(self) -> None:
        tail = self._text
        if len(tail) < self.window:
            return
        unit = self._recent_unit(tail)
        if unit is None:
            return
        share = tail.count(unit) * len(unit) / len(tail)
        if share >= self.min_share:
            self._reason = (
                f"{token_as_written(unit)!r} makes up {share:.0%} of the last "
                f"{len(tail)} characters"
            )

    def _recent_unit(self, tail: str) -> str | None:
        """The unit a `period_window` near the end of `tail` repeats, if any. Near, not at:
        a TUI often ends a frame with a spinner or timer update after the answer's row."""
        size = self.period_window
        for back in range(0, 4 * size + 1, size // 4):
            end = len(tail) - back
            if end < size:
                return None
            window = tail[end - size : end]
            for unit_len in range(1, self.max_unit + 1):
                if window[unit_len:] != window[:-unit_len]:
                    continue
                unit = window[-unit_len:]
                if not unit.strip():
                    break  # layout (spaces): look further back
                return unit
        return None


def _split_held(text: str) -> tuple[str, str]:
    """`(complete, held)`: an escape sequence cut off at the end of `text` is held back
    for the next chunk (at most 64 characters: longer, it is garbage and let through)."""
    i = text.rfind("\x1b")
    if i < 0 or len(text) - i > 64:
        return text, ""
    if _PANE_TOKEN.match(text, i) is not None:
        return text, ""  # complete
    return text[:i], text[i:]
