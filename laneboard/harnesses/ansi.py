"""Terminal escape sequences out of pane text.

Pane output is what a program wrote to its terminal: SGR colours, cursor moves, OSC titles,
bracketed-paste markers. Everything that reads it as *text* (a reply, the watchdog, a
search) wants those gone, and the TUI wants them kept, so the stream carries raw text and
this module strips on demand.

`strip` removes every escape sequence and keeps the characters. `strip_for_scan`
additionally turns cursor movement into line breaks: a full-screen program that redraws
a border by moving the cursor would otherwise glue many redraws into one endless line, and
the watchdog would read that as a repeated token.
"""

from __future__ import annotations

import re

# CSI: ESC [ params intermediates final; OSC: ESC ] ... (BEL | ESC \); DCS/SOS/PM/APC: ESC P|X|^|_
# ... ESC \; other two-byte escapes: ESC followed by one char in @-Z, \-_ or a charset select.
_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC, terminated by BEL or ST (or cut off)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?    # DCS, SOS, PM, APC
    | \x1b[()*+][0-~]                  # charset designation
    | \x1b[@-Z\\-_=>78]                # other two-byte sequences (keypad modes, save cursor)
    """,
    re.VERBOSE,
)

# CSI finals that move the cursor or erase (CUU..CHA, CUP, VPA, HVP, ED/EL, scroll).
_MOVES = re.compile(r"\x1b\[[0-?]*[ -/]*[A-HJKSTdf]")

# Controls other than tab, line feed and carriage return carry no text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")


def strip(text: str) -> str:
    """Return `text` without escape sequences or stray control characters (keeps \\t \\n \\r)."""
    if "\x1b" not in text and "\x9b" not in text:
        return _CONTROLS.sub("", text) if _has_controls(text) else text
    return _CONTROLS.sub("", _ANSI.sub("", text))


def strip_for_scan(text: str) -> str:
    """Like `strip`, but cursor movement becomes a line break (see module docstring)."""
    if "\x1b" in text:
        text = _MOVES.sub("\n", text)
    return strip(text)


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


def _has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None
