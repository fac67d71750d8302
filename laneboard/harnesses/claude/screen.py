"""Screen-state rules for interactive Claude Code, pinned to claude 2.1.328.

Claude Code draws its UI on the terminal's alternate screen, so `tmux capture-pane -p`
returns only the visible rows. These rules read that text and say what the agent is
doing. They are the one place to revise when the CLI's UI changes: every marker below was
observed on 2.1.328 (see ../shared/reference/harness-claude-code.md, section 7) and the
samples in tests/test_screen_rules.py hold them in place.

Markers (2.1.328):

- input box: a line starting with `❯` + U+00A0 (no-break space), or a bare `❯`. Echoed
  prompts in the history use `❯` + a normal space; dialog cursors are indented (` ❯ 1. Yes`).
  Never `rstrip()` a line before testing this: `str.rstrip()` also eats U+00A0.
- busy: the footer (last few rows) contains `esc to interrupt`.
- permission dialog: no input box, and `Esc to cancel` or a question line
  (`Do you want to …`, `Allow this read …`, `Exit plan mode?`).
- Bash dialog: ` Bash command`, a `╌` rule, the command, another `╌` rule.
- setup dialogs laneboard refuses to answer: `Quick safety check` (trust),
  `Detected a custom API key`, and the onboarding failure
  `Failed to connect to api.anthropic.com`.
- the end of a turn: `✻ <Verb> for <N>s` (success) or `● API Error: …` (failure) in the
  block between the last echoed prompt and the input box.
- retry notice while busy: `✻ 500 boom · retrying in 1s · attempt 1/1`.

The answer text is never scraped from here (a long answer scrolls off the alternate
screen); it comes from the transcript (`claude_transcript.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ClaudeScreenState = Literal["starting", "ready", "busy", "waiting-permission", "setup-blocked"]

NBSP = "\u00a0"
INPUT_PREFIX = "❯" + NBSP
ECHO_PREFIX = "❯ "

SETUP_MARKERS: tuple[tuple[str, str], ...] = (
    (
        "Quick safety check",
        "Claude Code asks whether to trust this folder; laneboard never answers a trust "
        "dialog. Seed the isolated config (seed_isolated_config) or trust the folder in "
        "Claude Code yourself.",
    ),
    (
        "Detected a custom API key",
        "Claude Code asks whether to use the custom API key; laneboard never answers it. "
        "Pre-approve the key in the isolated config, or use ANTHROPIC_AUTH_TOKEN.",
    ),
    (
        "Failed to connect to api.anthropic.com",
        "Claude Code is running its first-run onboarding (hasCompletedOnboarding missing "
        "from .claude.json); run `claude` once yourself or seed an isolated config.",
    ),
)

_DIALOG_QUESTIONS = ("Do you want to", "Allow this read", "Exit plan mode?")
_DONE_RE = re.compile(r"^✻ \S.* for \d+(?:m \d+)?s\b")
_RETRY_RE = re.compile(r"retrying in \d+s · attempt (\d+)/(\d+)")
_API_ERROR_RE = re.compile(r"^● API Error: ?(.*)$")
_TARGET_RE = re.compile(r"Do you want to (?:create|make this edit to|overwrite|edit) (.+?)\?")


@dataclass(frozen=True)
class ClaudeScreen:
    """What one capture of a Claude Code pane says.

    `detail` is the setup message or the dialog's question; `command` the shell command a
    Bash dialog shows; `target` the file a write dialog names; `api_error` the text of an
    `● API Error:` line in the last turn block; `finished_ok` whether that block carries a
    `✻ … for Ns` done line; `retrying` whether a retry notice is showing; `dialog` the
    text of a permission dialog (the rows below its top rule), for the deny check when
    no command could be read.
    """

    state: ClaudeScreenState
    detail: str = ""
    dialog_kind: str | None = None
    command: str | None = None
    target: str | None = None
    api_error: str | None = None
    finished_ok: bool = False
    retrying: bool = False
    dialog: str = ""


def _trimmed_lines(screen: str) -> list[str]:
    lines = screen.split("\n")  # do NOT rstrip: that would eat the U+00A0 of the input box
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _is_input_line(line: str) -> bool:
    return line.startswith(INPUT_PREFIX) or line.rstrip(" ") == "❯"


def _last_block(lines: list[str]) -> list[str]:
    """The lines between the last echoed prompt (`❯ text`) and the input box."""
    end = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if _is_input_line(lines[i]):
            end = i
            break
    start = 0
    for i in range(end - 1, -1, -1):
        if lines[i].startswith(ECHO_PREFIX) and not _is_input_line(lines[i]):
            start = i + 1
            break
    return lines[start:end]


def _dialog_kind(lines: list[str]) -> str:
    text = "\n".join(lines)
    if "Bash command" in text:
        return "bash"
    if "Allow this read" in text:
        return "read-outside"
    if "Exit plan mode?" in text:
        return "exit-plan"
    if "Enter to select" in text and "Type something." in text:
        return "question"
    if _TARGET_RE.search(text):
        return "write"
    return "other"


def _bash_command(lines: list[str]) -> str | None:
    """The command between the two dashed `╌` rules under ` Bash command`."""
    for i, line in enumerate(lines):
        if line.strip() == "Bash command":
            rules = [j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("╌")]
            if len(rules) >= 2:
                body = [ln.strip() for ln in lines[rules[0] + 1 : rules[1]]]
                return "\n".join(b for b in body if b) or None
            return None
    return None


def _dialog_text(lines: list[str]) -> str:
    """The dialog's rows: below the last full-width `─` rule (the dialog's top edge)."""
    start = 0
    for i, line in enumerate(lines):
        if line.strip().startswith("────"):
            start = i + 1
    return "\n".join(ln.strip() for ln in lines[start:] if ln.strip())


def classify(screen: str) -> ClaudeScreen:
    """Read one `capture-pane -p` text (no ANSI) of a Claude Code pane."""
    lines = _trimmed_lines(screen)
    for marker, message in SETUP_MARKERS:
        if marker in screen:
            return ClaudeScreen("setup-blocked", detail=message)
    has_input = any(_is_input_line(ln) for ln in lines)
    busy = any("esc to interrupt" in ln for ln in lines[-4:])
    dialog = (not has_input) and any(
        "Esc to cancel" in ln or ln.strip().startswith(_DIALOG_QUESTIONS) for ln in lines
    )
    if dialog:
        question = next(
            (ln.strip() for ln in lines if ln.strip().startswith(_DIALOG_QUESTIONS)), ""
        )
        target = _TARGET_RE.search("\n".join(lines))
        return ClaudeScreen(
            "waiting-permission",
            detail=question,
            dialog_kind=_dialog_kind(lines),
            command=_bash_command(lines),
            target=target.group(1) if target else None,
            dialog=_dialog_text(lines),
        )
    block = _last_block(lines)
    api_error = None
    finished_ok = False
    retrying = False
    for i, ln in enumerate(block):
        m = _API_ERROR_RE.match(ln)
        if m:
            tail = [m.group(1).strip()]
            for cont in block[i + 1 :]:
                if not cont.startswith("  ") or cont.strip().startswith("tmux focus-events"):
                    break
                tail.append(cont.strip())
            api_error = " ".join(t for t in tail if t)
        if _DONE_RE.match(ln):
            finished_ok = True
        if _RETRY_RE.search(ln):
            retrying = True
    if busy:
        return ClaudeScreen("busy", api_error=api_error, retrying=retrying)
    if has_input:
        return ClaudeScreen("ready", api_error=api_error, finished_ok=finished_ok)
    return ClaudeScreen("starting")


def state(screen: str) -> ClaudeScreenState:
    """Shorthand for `classify(screen).state`."""
    return classify(screen).state
