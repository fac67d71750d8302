"""The command palette (ctrl+p): every cockpit action, lane actions included.

Named `palette` because laneboard already has two other kinds of "command": the CLI's
subcommands (`laneboard.commands`) and `command` lanes.

A Textual `Provider`: `discover` lists the everyday entries when the palette opens empty,
`search` fuzzy-matches all of them (per-lane start/stop/restart/attach/select and model
switches too). An everyday entry names a binding's *action*, not a key: the palette runs
the same action the key does and shows the key the `BINDINGS` give it, so a rebound key
can never leave a stale hint. Lane entries post the same request messages the screens
post (`laneboard.tui.messages`); the palette never touches the supervisor nor imports the
App module (reads go through `laneboard.tui.link`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Literal

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.message import Message

from laneboard.core.harness_kinds import kind
from laneboard.tui import messages as m
from laneboard.tui.link import link_of
from laneboard.tui.screens.main import MainScreen
from laneboard.tui.widgets.prompt_bar import PromptBar

Where = Literal["app", "screen", "prompt"]
"""Whose action it is: the App's, the main screen's or the prompt bar's."""
Command = tuple[str, Callable[[], object], str]

EVERYDAY: tuple[tuple[str, Where, str], ...] = (
    ("Help: all key bindings", "app", "show_help"),
    ("Preflight: check every agent→model mapping", "app", "show_preflight"),
    ("Artifacts: list, filter and search", "app", "show_artifacts"),
    ("Usage: prompts, tokens and cost per lane and tier", "app", "show_usage"),
    ("Toggle grid view of every lane", "screen", "toggle_grid"),
    ("Filter the lane list by state: all → busy → waiting → failed", "screen", "filter_lanes"),
    ("Search the lane list by id, role or model (/ in the list)", "screen", "search_lanes"),
    ("Grid: next page of lanes", "screen", "grid_page(1)"),
    ("Grid: previous page of lanes", "screen", "grid_page(-1)"),
    ("Attach to the selected lane's tmux pane", "screen", "attach"),
    ("Interrupt the selected lane's turn", "screen", "interrupt"),
    ("Cancel the selected delegation run (interrupts every lane on it)", "screen",
     "cancel_run"),
    ("Review: send the selected lane's last answer to the reviewer", "screen", "review_answer"),
    ("Review: send the selected lane's branch diff (else the git diff) to the reviewer",
     "screen", "review_diff"),
    ("Diff: what the selected lane changed in its worktree", "screen", "show_diff"),
    ("Toggle multi-line prompt", "prompt", "toggle_multiline"),
    ("Toggle untrusted input (route as mail/web text; triage first)", "screen",
     "toggle_untrusted"),
    ("Next lane", "screen", "step_lane(1)"),
    ("Previous lane", "screen", "step_lane(-1)"),
)
"""(what it does, whose action, the action as the bindings spell it)."""


def key_for(bindings: Sequence[BindingType], action: str) -> str:
    """The key of the first binding that runs `action` ("" when none does), as a person
    reads it: `F1`, `ctrl+g` (the first of alternatives such as `ctrl+s,ctrl+j`)."""
    for b in bindings:
        if isinstance(b, Binding) and b.action == action:
            key = b.key_display or b.key.split(",")[0]  # `[` rather than left_square_bracket
            return key.upper() if key[:1] == "f" and key[1:].isdigit() else key
    return ""


class CockpitPalette(Provider):
    """The palette's view of the cockpit."""

    @property
    def main(self) -> MainScreen:
        screen = self.app.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def _everyday(self) -> Iterator[Command]:
        main = self.main
        owners: dict[Where, tuple[DOMNode, Sequence[BindingType]]] = {
            "app": (self.app, type(self.app).BINDINGS),
            "screen": (main, MainScreen.BINDINGS),
            "prompt": (main.prompt_bar, PromptBar.BINDINGS),
        }
        for name, where, action in EVERYDAY:
            node, bindings = owners[where]
            yield (name, partial(self.app.run_action, action, node), key_for(bindings, action))

    def _request(self, make: Callable[[], Message]) -> Callable[[], object]:
        """A callback that posts a fresh request message to the App."""
        return lambda: self.app.post_message(make())

    def _lane_commands(self) -> Iterator[Command]:
        link = link_of(self.app)
        if not link.ready:  # no lanes before the config is loaded
            return
        main = self.main
        chat_models = link.chat_models()
        for info in link.lane_infos():
            lane = info.id
            yield (f"Select lane {lane}", partial(main.select_lane, lane), "")
            for action in ("start", "stop", "restart"):
                yield (f"{action.capitalize()} lane {lane}",
                       self._request(partial(m.LifecycleRequested, lane, action)), "")
            yield (f"Attach to lane {lane}", self._request(partial(m.AttachRequested, lane)), "")
            yield (f"Interrupt lane {lane}",
                   self._request(partial(m.InterruptRequested, lane)), "")
            if kind(info.harness).takes_model:
                for ref in chat_models:
                    yield (f"Switch {lane} to model {ref} (strict)",
                           self._request(partial(m.ModelSwitchRequested, lane, ref)), "")

    async def discover(self) -> Hits:
        for name, callback, key in self._everyday():
            yield DiscoveryHit(name, callback, help=f"key: {key}" if key else None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, key in [*self._everyday(), *self._lane_commands()]:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback,
                          help=f"key: {key}" if key else None)
