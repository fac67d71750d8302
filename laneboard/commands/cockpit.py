"""Opening the cockpit: build the app with `make_app` on a config *loader*, run it.

The app paints its first frame before the config is loaded (the loader runs in a worker
thread after that frame; importing the config models alone takes ~150 ms). A config error
ends the app, and is raised here so the CLI reports it as for every other command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig


def run_cockpit(config_path: str | None) -> None:
    """`laneboard [--config FILE]`: the TUI on the config in effect.

    Lanes are started (or adopted from a previous cockpit) in tmux; quitting detaches and
    leaves them running.
    """
    from laneboard.commands._common import require_terminal
    from laneboard.tui.app import make_app

    require_terminal("the cockpit")

    def load_config() -> LoadedConfig:
        from laneboard.lanes.loading import load

        return load(config_path)

    app = make_app(load_config)
    app.run()
    if app.load_error is not None:
        raise app.load_error
