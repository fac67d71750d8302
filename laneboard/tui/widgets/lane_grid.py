"""Every lane at once: a grid of small `LaneLog`s, shown instead of the single pane.

Only mounted logs are ever written, and the whole grid is hidden (so not rendered) unless
the grid view is on; when it turns on, each log is refilled from the lane's buffer.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.containers import Grid

from laneboard.tui.widgets.lane_log import LaneLog


class LaneGrid(Grid):
    """One `LaneLog` per lane, two or three columns depending on the width."""

    DEFAULT_CSS = """
    LaneGrid { grid-size: 2; grid-gutter: 0 1; }
    LaneGrid.-wide { grid-size: 3; }
    LaneGrid > LaneLog { border: round $primary-darken-2; height: 1fr; }
    LaneGrid > LaneLog.-selected { border: round $accent; }
    """

    def __init__(self, lanes: list[str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lanes = list(lanes or [])

    def compose(self) -> Iterator[LaneLog]:
        for lane in self._lanes:
            yield LaneLog(lane, classes="grid-log")

    def set_lanes(self, lanes: list[str]) -> None:
        """Show these lanes (the grid is composed before the config is loaded)."""
        if lanes == self._lanes:
            return
        self._lanes = list(lanes)
        self.remove_children()
        self.mount_all(LaneLog(lane, classes="grid-log") for lane in self._lanes)
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        self.set_class(self.size.width >= 150 and len(self._lanes) > 4, "-wide")

    def logs(self) -> list[LaneLog]:
        return list(self.query(LaneLog))

    def log_for(self, lane: str) -> LaneLog | None:
        for log in self.query(LaneLog):
            if log.lane == lane:
                return log
        return None

    def mark_selected(self, lane: str | None) -> None:
        for log in self.query(LaneLog):
            log.set_class(log.lane == lane, "-selected")
