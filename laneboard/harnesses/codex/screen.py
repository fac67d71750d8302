"""Screen-state rules for interactive Codex, pinned to codex-cli 0.169.0.

Codex draws on the alternate screen; `tmux capture-pane -p` gives the visible rows. These
rules are the one place to revise when its TUI changes. Every marker was observed on
0.169.0 (see ../shared/reference/harness-codex.md, section 6) and the samples in
tests/test_screen_rules.py hold them in place.

Markers (0.169.0):

- composer: the LAST line starting with `› ` (U+203A + space); echoed prompts in the
  history start with `› ` too. The empty composer shows the dim placeholder
  `Ask Codex to do anything` (it cannot be told from typed text without `-e`).
- status line under the composer: `<Model> <effort> · <cwd>`, then
  `… ? for shortcuts …`.
- busy: `esc to interrupt` anywhere (`◦ Working (1s • esc to interrupt)`, also shown by
  `• Reconnecting... 1/5 (3s • esc to interrupt)` while retrying).
- approval dialog: `Would you like to run the following command?` /
  `Press enter to confirm or esc to cancel`; the command is on a `$ ` line.
- trust dialog (setup; laneboard never answers it): `Trust this folder?`.
- the end of a turn: `Worked for …` (success) or `■ <message>` (failure or interruption)
  between the last echoed prompt and the composer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CodexScreenState = Literal["starting", "ready", "busy", "waiting-permission", "setup-blocked"]

COMPOSER_PREFIX = "› "
PLACEHOLDER = "Ask Codex to do anything"

SETUP_MARKERS: tuple[tuple[str, str], ...] = (
    (
        "Trust this folder?",
        "Codex asks whether to trust this folder; laneboard never answers a trust dialog. "
        "Seed the isolated CODEX_HOME (seed_isolated_home) or trust the folder in Codex "
        "yourself.",
    ),
    (
        "Use existing model",
        "Codex offers to switch this lane to a newer model; laneboard keeps the configured "
        "model and never answers for you. Attach to the lane (or run `codex` yourself once) "
        "and choose, or set the lane's model to the new one.",
    ),
    (
        "Sign in with ChatGPT",
        "Codex wants you to sign in; run `codex login` yourself, or give the lane a provider "
        "with base_url and api_key_env.",
    ),
)
_APPROVAL_MARKERS = (
    "Would you like to run the following command?",
    "Press enter to confirm or esc to cancel",
)
INTERRUPTED = "Conversation interrupted"


@dataclass(frozen=True)
class CodexScreen:
    """What one capture of a Codex pane says.

    `composer` is the composer's text (the placeholder reads as ""); `command` the command
    an approval dialog shows; `error` a `■ …` line of the last turn block; `finished_ok`
    whether that block has a `Worked for` line; `dialog` an approval dialog's text (from
    the line above its question), for the deny check when no command could be read.
    """

    state: CodexScreenState
    detail: str = ""
    composer: str = ""
    command: str | None = None
    error: str | None = None
    finished_ok: bool = False
    dialog: str = ""


def _trimmed_lines(screen: str) -> list[str]:
    lines = screen.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def classify(screen: str) -> CodexScreen:
    """Read one `capture-pane -p` text (no ANSI) of a Codex pane."""
    lines = _trimmed_lines(screen)
    for marker, message in SETUP_MARKERS:
        if marker in screen:
            return CodexScreen("setup-blocked", detail=message)
    if any(marker in screen for marker in _APPROVAL_MARKERS):
        command = next((ln.strip()[2:] for ln in lines if ln.strip().startswith("$ ")), None)
        top = next((i for i, ln in enumerate(lines) if _APPROVAL_MARKERS[0] in ln), 1)
        dialog = "\n".join(ln.strip() for ln in lines[max(0, top - 1) :] if ln.strip())
        return CodexScreen(
            "waiting-permission", detail=_APPROVAL_MARKERS[0], command=command, dialog=dialog
        )
    prompt_rows = [i for i, ln in enumerate(lines) if ln.startswith(COMPOSER_PREFIX)]
    composer = ""
    error = None
    finished_ok = False
    if prompt_rows:
        last = prompt_rows[-1]
        composer = lines[last][len(COMPOSER_PREFIX) :].strip()
        if composer == PLACEHOLDER:
            composer = ""
        start = prompt_rows[-2] + 1 if len(prompt_rows) > 1 else 0
        for ln in lines[start:last]:
            s = ln.strip()
            if s.startswith("■ "):
                error = s[2:].strip()
            elif s.startswith("Worked for ") or " Worked for " in s:
                finished_ok = True
    if any("esc to interrupt" in ln for ln in lines):
        return CodexScreen("busy", composer=composer)
    footer = lines[-3:]
    if prompt_rows and any("? for shortcuts" in ln or " · " in ln for ln in footer):
        return CodexScreen("ready", composer=composer, error=error, finished_ok=finished_ok)
    return CodexScreen("starting")


def state(screen: str) -> CodexScreenState:
    """Shorthand for `classify(screen).state`."""
    return classify(screen).state
