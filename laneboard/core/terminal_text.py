"""Terminal output → plain text: one stripper for artifacts, harnesses and the cockpit.

Why one: the artifact store and the harnesses each had a stripper with its own regex, and
they disagreed at the edges (`ESC c`, an unterminated OSC title). Artifacts are read in
editors, diffed in git and fed to search and embedding models; a harness reads a reply or
feeds the watchdog. Both now see the same sequences removed. Screen-specific helpers
(keeping SGR colours, cursor moves as line breaks, chunks cut mid-sequence) stay with the
harnesses' `ansi` module, which builds on this one.

Two depths of stripping:
- `strip_escapes`: escape sequences and control characters out, `\\t \\n \\r` kept — the
  text as written, for code that still follows line redraws itself.
- `strip_ansi`: what a terminal would show — additionally `\\r\\n` is a newline, a line
  redrawn with bare `\\r` keeps its last frame, and backspaces erase.
"""

from __future__ import annotations

import re

# One alternation, compiled once: OSC (title/hyperlink) strings, CSI sequences, the
# DCS/SOS/PM/APC strings, and two-byte escapes. OSC and the string sequences end at BEL or
# ST (ESC \); an unterminated one runs to the next ESC or the end of the text, which is
# what a terminal would swallow too (an ESC cancels the string).
_ESCAPE = re.compile(
    r"""
      \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?            # OSC ... BEL | ST (or cut off)
    | \x1b[P^_X][^\x1b]*(?:\x1b\\)?                 # DCS / PM / APC / SOS ... ST
    | (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]             # CSI (7-bit and 8-bit)
    | \x1b[ -/]*[0-~]                              # two-byte and charset escapes
    | \x1b                                         # a stray ESC
    """,
    re.VERBOSE,
)
# C0 controls other than tab, newline and carriage return, and DEL.
_CONTROL_BUT_CR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BACKSPACE = re.compile(r"[^\n\x08]\x08")


def strip_escapes(text: str) -> str:
    """`text` without escape sequences or control characters; `\\t`, `\\n`, `\\r` kept."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE.sub("", text)
    return _CONTROL_BUT_CR.sub("", text)


def strip_ansi(text: str) -> str:
    """`text` as a terminal shows it, as plain text (no escapes, no control characters).

    Carriage returns follow the terminal: `\\r\\n` is a newline, and a bare `\\r` (a
    progress bar redrawing its line) keeps only what was written after it, so a spinner's
    hundred frames become its last one. Backspaces erase the character before them.
    """
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = "\n".join(_last_frame(line) for line in text.split("\n"))
    if "\x08" in text:
        previous = None
        while previous != text:
            previous, text = text, _BACKSPACE.sub("", text)
    return _CONTROL_BUT_CR.sub("", text)


def _last_frame(line: str) -> str:
    """What a terminal shows for a line that was redrawn with bare carriage returns."""
    if "\r" not in line:
        return line
    frames = [f for f in line.split("\r") if f]
    return frames[-1] if frames else ""
