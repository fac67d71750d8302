"""Every lane, a page at a time: a grid of small `LaneLog`s, shown instead of the single pane.

Only mounted logs are ever written, and the whole grid is hidden (so not rendered) unless
the grid view is on; when it turns on, each log is refilled from the lane's buffer.

Why pages (issue #18, 64 lanes): a log smaller than `MIN_LOG_ROWS` shows nothing worth
watching, and every log on screen costs a screen mirror for a full-screen agent (a
control-mode capture up to 10×/s) and a repaint per flush. So the grid holds only as many
logs as fit — columns by width, rows by height — and shows the lanes of one page in them;
PageUp/PageDown (or `[` / `]`) turn pages, and the grid's title says "page i/n". Turning a
page reuses the logs (a log is handed another lane) and posts `PageChanged`, on which the
screen refills them and asks the core to mirror exactly the lanes now on the page: 64
lanes never mean 64 live mirrors.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.containers import Grid
from textual.message import Message
from textual.widget import AwaitMount

from laneboard.tui.widgets.lane_log import LaneLog

MIN_LOG_ROWS = 8
"""Rows a grid cell needs: its border and six lines of the lane."""
WIDE_COLUMNS = 150
"""From this width on, three columns instead of two."""
DEFAULT_PER_PAGE = 6
"""Lanes per page before the grid was ever laid out (it is hidden until shown)."""
PAGE_HINT = "PgUp/PgDn"


class LaneGrid(Grid):
    """`LaneLog`s for the lanes of the current page, two or three columns by width."""

    DEFAULT_CSS = """
    LaneGrid { grid-size: 2; grid-gutter: 0 1; }
    LaneGrid.-wide { grid-size: 3; }
    LaneGrid > LaneLog { border: round $primary-darken-2; height: 1fr; }
    LaneGrid > LaneLog.-selected { border: round $accent; }
    """

    class PageChanged(Message):
        """The logs now show `lanes` (page `page` of `pages`, from 1): refill them and
        mirror exactly these lanes."""

        def __init__(self, lanes: list[str], page: int, pages: int) -> None:
            super().__init__()
            self.lanes, self.page, self.pages = lanes, page, pages

    def __init__(self, lanes: list[str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lanes = list(lanes or [])
        self.page = 0
        """The page shown, from 0."""
        self.per_page = DEFAULT_PER_PAGE
        self._pool: list[LaneLog] = [LaneLog(lane, classes="grid-log") for lane in self.page_lanes()]

    def compose(self) -> Iterator[LaneLog]:
        yield from self._pool

    # ------------------------------------------------------------------ pages

    @property
    def pages(self) -> int:
        return max(1, -(-len(self._lanes) // self.per_page))

    def page_lanes(self) -> list[str]:
        """The lanes of the page shown."""
        start = self.page * self.per_page
        return self._lanes[start:start + self.per_page]

    def set_lanes(self, lanes: list[str]) -> None:
        """Show these lanes (the grid is composed before the config is loaded)."""
        if lanes == self._lanes:
            return
        self._lanes = list(lanes)
        self._fit()
        self._repage()

    def turn_page(self, delta: int) -> bool:
        """Show the page `delta` pages on (clamped to the first and last); False when
        there was no page to turn to."""
        page = min(max(self.page + delta, 0), self.pages - 1)
        if page == self.page:
            return False
        self.page = page
        self._repage()
        return True

    def show_lane(self, lane: str) -> None:
        """Turn to the page holding `lane` (the selection moved to another page)."""
        if lane in self._lanes:
            page = self._lanes.index(lane) // self.per_page
            if page != self.page:
                self.page = page
                self._repage()

    def on_resize(self) -> None:
        if self._fit():
            self._repage()

    def _fit(self) -> bool:
        """Columns by width, rows by height; True when the lanes per page changed."""
        width, height = self.size
        wide = width >= WIDE_COLUMNS and len(self._lanes) > 4
        self.set_class(wide, "-wide")
        if height <= 0:  # hidden: keep the page size until the grid is laid out
            return False
        rows = max(1, height // MIN_LOG_ROWS)
        per_page = (3 if wide else 2) * rows
        if per_page == self.per_page:
            return False
        first = self.page * self.per_page  # keep the page's first lane on screen
        self.per_page = per_page
        self.page = min(first // per_page, self.pages - 1)
        self.styles.grid_size_rows = rows  # a short last page keeps the cells' size
        return True

    def _repage(self) -> None:
        """Hand the page's lanes to the logs (mounting or removing the difference) and
        say so once the logs are mounted."""
        self.page = min(self.page, self.pages - 1)
        lanes = self.page_lanes()
        fresh: list[LaneLog] = []
        while len(self._pool) < len(lanes):
            fresh.append(LaneLog(lanes[len(self._pool)], classes="grid-log"))
            self._pool.append(fresh[-1])
        for log in self._pool[len(lanes):]:
            log.remove()
        del self._pool[len(lanes):]
        for log, lane in zip(self._pool, lanes, strict=True):
            if log.lane != lane:
                log.lane, log.border_title = lane, lane
        self.set_class(self.pages > 1, "-paged")  # the title's border (cockpit.tcss)
        self.border_title = (f"page {self.page + 1}/{self.pages} · {PAGE_HINT}"
                             if self.pages > 1 else "")
        if self.is_mounted:
            mounting = self.mount_all(fresh) if fresh else None
            self.call_later(self._announce, mounting)

    async def _announce(self, mounting: AwaitMount | None) -> None:
        if mounting is not None:
            await mounting
        self.post_message(self.PageChanged(self.page_lanes(), self.page + 1, self.pages))

    # ------------------------------------------------------------------ logs

    def logs(self) -> list[LaneLog]:
        """The logs on the page (the only ones the screen writes to or mirrors for)."""
        return list(self._pool)

    def log_for(self, lane: str) -> LaneLog | None:
        for log in self._pool:
            if log.lane == lane:
                return log
        return None

    def mark_selected(self, lane: str | None) -> None:
        for log in self._pool:
            log.set_class(log.lane == lane, "-selected")
