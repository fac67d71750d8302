"""Which tmux commands may run through a control client, and in what form.

Why a module of its own: tmux 3.3a writes a command's output lines to a control client
unescaped, so a command whose output can hold pane text is safe there only when the
number of its lines is known before the answer starts (`tmux_control` reads exactly
that many as data). `route` sorts commands: output that cannot hold pane text goes as
it is; the visible screen goes with its line count asked first (`COUNT_FORMAT`); the
rest (joined or scrollback captures, buffers, pane-controlled formats) runs as a tmux
process. Verified against the real tmux in tests/test_tmux_control_path.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

#: Commands whose output is (or can be) pane text or buffer contents.
_PANE_TEXT_COMMANDS = frozenset(
    {"capture-pane", "capturep", "show-buffer", "showb", "save-buffer", "saveb",
     "list-buffers", "lsb", "choose-buffer", "show-messages", "showmsgs"}
)  # fmt: skip
#: Commands that carry text to tmux or a pane and print nothing (their text arguments are
#: not formats: `send-keys` without -F, `set-buffer`), so their arguments are not checked.
_TEXT_COMMANDS = frozenset(
    {"send-keys", "send", "set-buffer", "setb", "paste-buffer", "pasteb", "delete-buffer",
     "deleteb"}
)  # fmt: skip
#: Format variables whose values no pane can choose: ids, numbers, flags, and laneboard's
#: own options. Not pane_title, pane_current_command (a process's argv[0] may hold a line
#: break), pane_current_path, window_name, buffer_*: those are pane-controlled text.
_SAFE_FORMATS = frozenset(
    {"session_name", "session_id", "window_id", "window_index", "pane_id", "pane_index",
     "pane_pid", "pane_dead", "pane_dead_status", "pane_height", "pane_width",
     "alternate_on", "pane_in_mode", "@laneboard_lane", "@laneboard_status",
     "@laneboard_meta"}
)  # fmt: skip
_FORMAT = re.compile(r"#\{([^{}]*)\}")
_PANE_ID = re.compile(r"%[0-9]+")
COUNT_FORMAT = "#{pane_id} #{pane_height}"

Route = Literal["plain", "screen", "process"]


def route(args: Sequence[str]) -> Route:
    """How a tmux command may run: "plain" (its output cannot hold pane text: through the
    control client as it is), "screen" (`capture-pane -p [-e] -t %N`, the visible screen:
    through the client with its line count asked first, `screen_command_line`), or
    "process" (anything else that can print pane text: a tmux process).

    Why a screen only: it is exactly `pane_height` lines (a wrapped line is two, a wide
    character one cell pair), while `-J` joins wrapped lines and a scrollback range has
    a length no query gives atomically. Formats are checked by name against
    `_SAFE_FORMATS`; any other `#` sequence (`#T`, `#(…)`, `#{?…}`) counts as unsafe.
    """
    if not args:
        return "process"
    name = args[0]
    if name in ("capture-pane", "capturep"):
        return "screen" if screen_target(args) is not None else "process"
    if name in _PANE_TEXT_COMMANDS:
        return "process"
    if name in _TEXT_COMMANDS:
        return "plain"
    for arg in args[1:]:
        if "#" in _FORMAT.sub(lambda m: "" if m[1] in _SAFE_FORMATS else "#", arg):
            return "process"
    return "plain"


def screen_target(args: Sequence[str]) -> str | None:
    """The pane id of `capture-pane -p [-e] -t %N` (flags in any order), else None."""
    rest = list(args[1:])
    if "-t" not in rest:
        return None
    i = rest.index("-t")
    target = rest[i + 1] if i + 1 < len(rest) else ""
    flags = rest[:i] + rest[i + 2 :]
    if not _PANE_ID.fullmatch(target) or "-p" not in flags:
        return None
    if not set(flags) <= {"-p", "-e"} or len(flags) != len(set(flags)):
        return None
    return target
