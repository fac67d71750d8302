"""Make text safe to type or paste into a lane's terminal.

Why: a pane takes bytes as keystrokes. A prompt carrying the bracketed-paste end marker
(`ESC [ 2 0 1 ~`) ends the paste early and the rest is read as keys — extra submitted
turns, Esc, Ctrl-C, Ctrl-D — and in a cooked-mode lane a bare `\\x03` is SIGINT. Prompts
can come from untrusted text (mail routed to a lane), so every path that writes text into
a pane (`TmuxRelay.paste`, `TmuxRelay.send_keys(literal=True)`) passes it through
`sanitise` first.

What is kept: every printable character, tab and line feed. What changes:

- CR LF and a lone CR become LF (a line break, the way a paste would mean it; a CR
  outside a bracketed paste would be Enter, a submit);
- NUL, the other C0 controls (ESC, Ctrl-A … Ctrl-Z, FS/GS/RS/US), DEL (the erase key in
  a cooked tty) and the C1 controls U+0080–U+009F (U+009B is an 8-bit CSI) are removed;
- bytes that are not UTF-8, and lone surrogates, become U+FFFD.

Nothing is removed silently: `Sanitised.note` says what went and why, for the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Characters removed: C0 except tab and line feed (CR is turned into a line feed first),
#: DEL and C1.
REMOVED = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n"]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
)
_TABLE: dict[int, None] = dict.fromkeys(map(ord, REMOVED))
_SURROGATES: dict[int, str] = dict.fromkeys(range(0xD800, 0xE000), "\ufffd")


def char_name(ch: str) -> str:
    """A person's name for a removed character: NUL, ESC, DEL, Ctrl-C, U+009B."""
    code = ord(ch)
    special = {0x00: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x0D: "CR"}
    if code in special:
        return special[code]
    if 0x01 <= code <= 0x1A:
        return f"Ctrl-{chr(0x40 + code)}"
    return f"U+{code:04X}"


@dataclass(frozen=True)
class Sanitised:
    """The text to send and what was taken out of it (character name → count)."""

    text: str
    removed: Mapping[str, int] = field(default_factory=dict)
    replaced: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.replaced)

    @property
    def note(self) -> str:
        """One line for the log, empty when nothing was removed or replaced."""
        parts = []
        if self.removed:
            total = sum(self.removed.values())
            names = ", ".join(f"{k} ×{v}" for k, v in sorted(self.removed.items()))
            parts.append(
                f"removed {total} control character{'s' if total != 1 else ''} ({names}): "
                "in a terminal they act as keys, not text"
            )
        if self.replaced:
            parts.append(f"replaced {self.replaced} invalid character(s) with U+FFFD")
        return "; ".join(parts)


def sanitise(text: str | bytes) -> Sanitised:
    """The prompt as it may reach a pane (module docstring). Linear in the input."""
    replaced = 0
    if isinstance(text, bytes):
        decoded = text.decode("utf-8", "replace")
        replaced = decoded.count("\ufffd") - text.decode("utf-8", "ignore").count("\ufffd")
        text = decoded
    surrogates = sum(1 for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    if surrogates:
        text = text.translate(_SURROGATES)
        replaced += surrogates
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    removed = {char_name(c): text.count(c) for c in set(text) & REMOVED}
    if removed:
        text = text.translate(_TABLE)
    return Sanitised(text, removed, replaced)
