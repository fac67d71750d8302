"""What a screen or the palette may *read* from the cockpit app, as a Protocol.

Why a Protocol: screens must not import the App module (that made the cycle
tui/app.py ↔ tui/commands.py ↔ tui/screens/*), and they must never touch the supervisor.
Everything a screen *does* travels up as a request message (`laneboard.tui.messages`,
handled by the App with `@on`); what it needs to *know* synchronously — to paint the
route preview while a person types, to list the lanes — it reads through this narrow,
pure interface, which `LaneboardApp` implements over its core. Every answer is plain
data (`LaneInfo`, a `RouteDecision`, strings), never a live runtime object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from laneboard.lanes.router import RouteDecision
    from laneboard.tui.state import LaneInfo


class CockpitLink(Protocol):
    """The read side of the cockpit app, for screens, widgets and the palette."""

    session: str
    """The lanes' tmux session (a guess from the workspace until the config is loaded)."""

    @property
    def ready(self) -> bool:
        """Whether the config is loaded and the lanes exist."""
        ...

    def require_ready(self) -> bool:
        """True when loaded; otherwise say so (a toast) and return False."""
        ...

    def lane_ids(self) -> list[str]:
        """The lanes in config order (none before the config is loaded)."""
        ...

    def lane_info(self, lane: str) -> LaneInfo | None:
        """One lane as displayed, or None for a lane that does not exist."""
        ...

    def lane_infos(self) -> list[LaneInfo]:
        """Every lane as displayed, in config order."""
        ...

    def chat_models(self) -> list[str]:
        """The allowlisted chat models a lane may switch to (aliases where given)."""
        ...

    def triage_lane(self) -> str | None:
        """The lane of `routing.triage` (the untrusted-input gate), if configured."""
        ...

    def route(self, text: str, *, untrusted: bool = False) -> RouteDecision:
        """Where `text` would go (pure; raises a `LaneboardError` when nothing may take it)."""
        ...


def link_of(app: App[object]) -> CockpitLink:
    """The cockpit behind `app` (the running `LaneboardApp`; it implements the Protocol —
    `laneboard.tui.app` holds a typed assertion that keeps mypy checking that)."""
    return cast("CockpitLink", app)
