"""Every cockpit action in the command palette (ctrl+p), lane actions included.

A Textual `Provider`: `discover` lists the everyday commands when the palette opens empty,
`search` fuzzy-matches all of them (per-lane start/stop/restart/attach/select and model
switches too). Commands call the same actions the key bindings do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from laneboard.tui.app import LaneboardApp

Command = tuple[str, Callable[[], object], str]


class CockpitCommands(Provider):
    """The palette's view of the cockpit."""

    @property
    def cockpit(self) -> LaneboardApp:
        from laneboard.tui.app import LaneboardApp

        app = self.app
        assert isinstance(app, LaneboardApp)
        return app

    def _everyday(self) -> Iterator[Command]:
        app = self.cockpit
        main = app.main_screen
        yield ("Help: all key bindings", app.action_show_help, "F1")
        yield ("Preflight: check every agent→model mapping", app.action_show_preflight, "F2")
        yield ("Artifacts: list, filter and search", app.action_show_artifacts, "F3")
        yield ("Usage: prompts, tokens and cost per lane and tier", app.action_show_usage, "F4")
        yield ("Toggle grid view of every lane", main.action_toggle_grid, "ctrl+g")
        yield ("Attach to the selected lane's tmux pane", main.action_attach, "ctrl+o")
        yield ("Review: send the selected lane's last answer to the reviewer",
               main.action_review_answer, "ctrl+r")
        yield ("Review: send the current git diff to the reviewer", main.action_review_diff,
               "ctrl+t")
        yield ("Toggle multi-line prompt", main.prompt_bar.action_toggle_multiline, "ctrl+l")
        yield ("Toggle untrusted input (route as mail/web text; triage first)",
               main.action_toggle_untrusted, "F5")
        yield ("Next lane", partial(main.action_step_lane, 1), "ctrl+n")
        yield ("Previous lane", partial(main.action_step_lane, -1), "ctrl+b")

    def _lane_commands(self) -> Iterator[Command]:
        app = self.cockpit
        if not app.ready:  # no lanes before the config is loaded
            return
        main = app.main_screen
        chat_models = [
            (entry.alias or key) for key, entry in app.loaded.config.models.items()
            if entry.kind == "chat"
        ]
        for lane in app.lane_ids():
            yield (f"Select lane {lane}", partial(main.select_lane, lane), "")
            for action in ("start", "stop", "restart"):
                yield (f"{action.capitalize()} lane {lane}",
                       partial(app.lane_lifecycle, lane, action), "")
            yield (f"Attach to lane {lane}", partial(app.attach, lane), "")
            if app.supervisor.lanes[lane].config.harness != "command":
                for ref in chat_models:
                    yield (f"Switch {lane} to model {ref} (strict)",
                           partial(main.request_model_switch, lane, ref), "")

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
