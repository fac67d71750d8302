"""Terminal escape sequences out of pane text.

Pane output is what a program wrote to its terminal: SGR colours, cursor moves, OSC titles,
bracketed-paste markers. Everything that reads it as *text* (a reply, the watchdog, a
search) wants those gone, and the TUI wants them kept, so the stream carries raw text and
this module strips on demand.

`strip` removes every escape sequence and keeps the characters. `strip_for_scan`
additionally turns cursor movement into line breaks: a full-screen program that redraws
a border by moving the cursor would otherwise glue many redraws into one endless line, and
the watchdog would read that as a repeated token.

`keep_sgr` is for showing pane text with its colours (the cockpit's lane panes, anything
else that renders styled text): SGR colour sequences (`ESC [ digits ; : m`) stay, every
other escape sequence and control character goes — a log is not a terminal. Output arrives
in chunks cut anywhere, so `SgrStream` holds back an escape sequence cut off at the end of
one chunk and completes it with the next; filtered chunk by chunk, the cut halves would
otherwise show as text (`[38;5;2` then `08m`).
"""

from __future__ import annotations

import re

from laneboard.core.terminal_text import strip_escapes

# CSI finals that move the cursor or erase (CUU..CHA, CUP, VPA, HVP, ED/EL, scroll).
_MOVES = re.compile(r"\x1b\[[0-?]*[ -/]*[A-HJKSTdf]")

#: One SGR (colour/attribute) sequence: ESC [ digits ; : m — nothing else counts.
SGR = re.compile(r"\x1b\[[0-9;:]*m")

# Every escape sequence except SGR: a CSI that is not pure SGR (another final byte, or a
# private marker such as `ESC [ > 4 ; 2 m`, which sets a key mode), 8-bit CSI, OSC, DCS/SOS/
# PM/APC, charset selection and the other two-byte escapes.
_NON_SGR = re.compile(
    r"""
    \x1b\[(?![0-9;:]*m)[0-?]*[ -/]*[@-~]
    | \x9b[0-?]*[ -/]*[@-~]
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?
    | \x1b[()*+][0-~]
    | \x1b[@-Z\\-_=>78]
    """,
    re.VERBOSE,
)
# C0 controls that carry no text, ESC kept (tab and newline are kept too): for `keep_sgr`.
_CONTROLS_BUT_ESC = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
# ESC that does not start an SGR sequence (left over from a malformed or cut sequence).
_LONE_ESC = re.compile(r"\x1b(?!\[[0-9;:]*m)")

# An escape sequence cut off at the very end of a chunk: ESC alone, a CSI without its final
# byte, an OSC or DCS without its terminator, a charset selection without its charset.
_CUT = re.compile(
    r"""
    (?: \x1b
      | \x1b\[[0-?]*[ -/]*
      | \x9b[0-?]*[ -/]*
      | \x1b\][^\x07\x1b]*
      | \x1b[PX^_][^\x1b]*
      | \x1b[()*+]
    )\Z
    """,
    re.VERBOSE,
)
#: Longest cut-off sequence held back for the next chunk; longer, it is not a sequence
#: being completed but garbage, and is let through (and filtered) rather than held forever.
MAX_HELD = 4096


def strip(text: str) -> str:
    """Return `text` without escape sequences or stray control characters (keeps \\t \\n \\r)."""
    return strip_escapes(text)


def strip_for_scan(text: str) -> str:
    """Like `strip`, but cursor movement becomes a line break (see module docstring)."""
    if "\x1b" in text:
        text = _MOVES.sub("\n", text)
    return strip(text)


def keep_sgr(text: str) -> str:
    """Pane text → text to show with colours: newlines normalised (`normalize_newlines`),
    SGR sequences kept, every other escape sequence and control character dropped."""
    text = normalize_newlines(text)
    if "\x1b" in text or "\x9b" in text:
        text = _LONE_ESC.sub("", _NON_SGR.sub("", text))
    return _CONTROLS_BUT_ESC.sub("", text)


def split_cut(text: str) -> tuple[str, str]:
    """`(whole, held)`: `held` is an escape sequence cut off at the end of `text` (at most
    `MAX_HELD` characters), to be put in front of the next chunk; `whole` is the rest."""
    i = max(text.rfind("\x1b"), text.rfind("\x9b"))
    if i < 0 or len(text) - i > MAX_HELD:
        return text, ""
    if _CUT.match(text, i) is None:
        return text, ""
    return text[:i], text[i:]


class SgrStream:
    """`keep_sgr` for a stream of chunks: a sequence cut between two chunks is joined first."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        """The displayable text of `chunk` (a cut-off sequence at its end waits for the next)."""
        whole, self._held = split_cut(self._held + chunk)
        return keep_sgr(whole)

    def flush(self) -> str:
        """Whatever is still held, filtered (the stream ended)."""
        held, self._held = self._held, ""
        return keep_sgr(held)


def normalize_newlines(text: str) -> str:
    r"""Terminal line endings to plain ones: `\r\n` → `\n`, and a line overwritten with `\r`
    keeps only what was written last (a progress bar leaves its final state)."""
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    out = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        out.append(line)
    return "\n".join(out)
