"""Usage: prompts, tokens and cost per lane, and each tier's share of the work as bars —
"the expensive model only touches escalations", made visible.

A snapshot taken when the screen opens (the numbers change only when turns end).
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from laneboard.core.vocabulary import TIERS
from laneboard.tui.state import LaneInfo, human_tokens, tier_shares
from laneboard.tui.theme import style as themed

TIER_STYLE = {"local": "$success", "cheap": "$secondary", "orchestrator": "$primary",
              "escalation": "$accent"}
"""Bar colour per tier, as theme variables (`laneboard.tui.theme`)."""
BAR_WIDTH = 30


def tier_bars(lanes: list[LaneInfo], width: int = BAR_WIDTH) -> Text:
    """One bar per tier: its share of prompts, with tokens and cost beside it."""
    shares = tier_shares(lanes)
    total = sum(row["prompts"] for row in shares.values()) or 1
    out = Text("share of prompts per tier\n", style="bold")
    for tier in TIERS:
        row = shares[tier]
        frac = row["prompts"] / total
        filled = round(frac * width)
        out.append(f"{tier:<13}")
        out.append("█" * filled, themed(TIER_STYLE[tier]))
        out.append("░" * (width - filled), "dim")
        out.append(f" {frac:5.0%}  {row['prompts']}p  {human_tokens(row['tokens'])} tok")
        if row["cost"]:
            out.append(f"  ${row['cost']:.2f}")
        out.append(f"  ({', '.join(row['lanes']) or '-'})\n", "dim")
    return out


class UsageScreen(Screen[None]):
    """Per-lane usage and the per-tier bars."""

    BINDINGS = [Binding("escape,q,f4", "app.pop_screen", "Close")]

    def __init__(self, lanes: list[LaneInfo]) -> None:
        super().__init__()
        self._lanes = lanes

    def compose(self) -> Iterator[Widget]:
        yield Static("laneboard · usage", classes="screen-title")
        table: DataTable[str] = DataTable(id="usage-table", cursor_type="row")
        table.add_columns("lane", "model", "tier", "prompts", "in tok", "out tok", "cost")
        for i in self._lanes:
            cost = f"${i.cost_usd:.2f}" if i.cost_usd is not None else "-"
            table.add_row(i.id, i.model_short, i.tier or "-", str(i.prompts),
                          human_tokens(i.input_tokens), human_tokens(i.output_tokens), cost)
        yield table
        yield Static(tier_bars(self._lanes), id="tier-bars")
        yield Footer()
