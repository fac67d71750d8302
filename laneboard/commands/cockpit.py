"""Opening the cockpit: load the config in effect, build the app with `make_app`, run it."""

from __future__ import annotations


def run_cockpit(config_path: str | None) -> None:
    """`laneboard [--config FILE]`: the TUI on the config in effect.

    Lanes are started (or adopted from a previous cockpit) in tmux; quitting detaches and
    leaves them running.
    """
    from laneboard.lanes.loading import load
    from laneboard.tui.app import make_app

    loaded = load(config_path)
    make_app(loaded).run()
