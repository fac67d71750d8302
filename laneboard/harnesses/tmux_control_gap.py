"""The output a pane wrote while its session had no control client, recovered from tmux.

Why a module of its own: when a session's control client ends (killed, out of step, too
far behind) and the relay attaches a successor, the streams carry on but the bytes
written in between never arrived as `%output`. They are in the pane's history, so the
successor's attach command line first copies each pane's history into a tmux buffer
(`capture-pane -b`) and its cursor column into a pane option, then attaches: tmux runs
that line in one pass of its command queue, with no pty read in between, so the copy
ends exactly where the new client's `%output` begins. The copy is read back with tmux
PROCESSES (pane text never travels through a control client unless its line count is
known: `tmux_control_route`), and `gap_text` finds where the stream's own text ends in
it: what follows is the gap. When that cannot be found the gap is counted on the stream
(`PaneStream.gaps`), never filled with a guess.
"""

from __future__ import annotations

from collections.abc import Sequence

from laneboard.harnesses import ansi

GAP_BUFFER = "laneboard-gap-"
GAP_OPTION = "@laneboard_gapx"
GAP_FORMAT = "#{cursor_x} #{alternate_on}"
"""What `GAP_OPTION` keeps: the cursor column (0: the last output ended a line) and
whether a full-screen program had the alternate screen (its history is not its output:
such a gap is counted, never filled; the screen is what to read)."""
_TAIL = 20
"""Complete lines of the stream's tail that must match the history (fewer when the
stream holds fewer)."""


def buffer_name(token: str, pane: str) -> str:
    return f"{GAP_BUFFER}{token}-{pane.lstrip('%')}"


def gap_prelude(panes: Sequence[str], token: str) -> list[str]:
    """tmux words run before `attach-session` on the successor's command line: each pane's
    history (wrapped lines joined) into a buffer of its own, `GAP_FORMAT` into
    `GAP_OPTION`, each command ended by `;`."""
    words: list[str] = []
    for pane in panes:
        words += ["capture-pane", "-b", buffer_name(token, pane), "-J", "-S", "-", "-E", "-",
                  "-t", pane, ";",
                  "set-option", "-p", "-F", "-t", pane, GAP_OPTION, GAP_FORMAT, ";"]  # fmt: skip
    return words


def gap_text(seen: str, captured: str, cursor_x: int | None) -> str | None:
    """The text of `captured` (a joined history capture, plain) after the end of `seen`
    (the stream's retained raw text), with terminal line ends; None when `seen`'s tail is
    not found in it (the gap is then unknown).

    The stream's last complete lines (up to `_TAIL`) and its unfinished last line must
    appear in the history, the latest such place wins. `cursor_x` 0 means the pane's last
    output ended a line, so the gap does too.
    """
    cap = [line.rstrip() for line in captured.split("\n")]
    while cap and not cap[-1]:
        cap.pop()  # the screen's empty rows below the cursor
    lines = [line.rstrip() for line in ansi.normalize_newlines(ansi.strip(seen)).split("\n")]
    partial, full = lines[-1], lines[:-1]
    tail = full[-_TAIL:]
    if not seen:
        at = 0  # the stream holds nothing yet: all the history is new to it
    elif not tail and not partial:
        return None  # only escape sequences so far: nothing to find it by
    else:
        at = -1
        for end in range(len(cap), len(tail) - 1, -1):
            if cap[end - len(tail) : end] != tail:
                continue
            if partial and not (end < len(cap) and cap[end].startswith(partial)):
                continue
            at = end
            break
        if at < 0:
            return None
    rest = cap[at:]
    if not rest:
        return ""
    if partial:
        rest[0] = rest[0][len(partial) :]
    text = "\r\n".join(rest)
    if cursor_x == 0 and (text or len(rest) > 1):
        text += "\r\n"
    return text
