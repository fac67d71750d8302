"""One line under the prompt saying where Enter will send it: lane, rule, fence, escalation.

The screen recomputes the decision on every keystroke (the router is a pure function and
fast) and sets `decision` / `error`; this widget only renders them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from laneboard.tui.theme import style as themed
from laneboard.tui.widgets.lane_table import FENCE_STYLE


class RoutePreview(Static):
    """`→ coder  rule build  fence ws-write  ⚑ escalates` — or why nothing would be sent."""

    DEFAULT_CSS = """
    RoutePreview { height: 1; padding: 0 1; color: $text-muted; }
    RoutePreview.-error { color: $error; }
    """

    decision: reactive[Any] = reactive(None, always_update=True)
    error: reactive[str] = reactive("")
    hint: reactive[str] = reactive("")
    untrusted: reactive[bool] = reactive(False)
    """The prompt is routed as untrusted input (mail, web text): said in front."""

    def render(self) -> Text:
        self.set_class(bool(self.error), "-error")
        if self.error:
            return Text(f"✗ {self.error}")
        d = self.decision
        if d is None:
            hint = self.hint or "type a prompt · @lane to pick one · /model REF to switch"
            if self.untrusted:
                return Text.assemble(("untrusted input", themed("bold $warning")), " · ", hint)
            return Text(hint)
        label, style = FENCE_STYLE.get(d.fence, (d.fence, ""))
        out = Text.assemble(("untrusted ", themed("bold $warning")) if self.untrusted else "",
                            ("→ ", "bold"), (d.lane, "bold"), "  rule ", (d.rule, "italic"),
                            "  fence ", (label, themed(style)))
        if d.escalate:
            out.append("  ⚑ escalates", themed("bold $accent"))
        if d.triage:
            out.append("  triage first", themed("$warning"))
        out.append(f"  {d.reason}", "dim")
        out.truncate(max(self.size.width - 2, 10), overflow="ellipsis")
        return out
