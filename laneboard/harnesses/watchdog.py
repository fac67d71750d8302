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
"""

from __future__ import annotations


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
            self.reason = f"{token!r} repeated {repeats}+ times"
            return True
        return False
