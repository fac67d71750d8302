"""The lane list's search bar: one line under the list that narrows it by name.

With 64 lanes the person knows the lane they want by a piece of its name (`coder-1`,
`review`, `opus`), not by its row; the F8 state filter alone cannot find it. `/` in the
lane list (or the palette) opens this bar; every keystroke narrows the list to lanes whose
id, role or model contains the text (case-insensitive, `LaneTable.set_query`). Up/Down
move the list's selection without leaving the bar, Enter goes back to the list keeping the
search, Esc clears it and goes back.

Why an `Input` of its own and not the prompt bar: the prompt bar's text goes to an agent
(and `/model` is one of its commands); a search must never be one Enter away from being
sent anywhere. The bar holds no lane data: it posts what was typed and the screen hands
the text down to the table ("attributes down, messages up").
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

PLACEHOLDER = "search lanes: id, role or model (Esc clears)"


class LaneSearch(Input):
    """A one-line search input, hidden until opened (the `-open` class, cockpit.tcss)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("down", "step(1)", "Next lane", show=False),
        Binding("up", "step(-1)", "Previous lane", show=False),
    ]

    class Closed(Message):
        """The person left the bar: `cleared` when Esc emptied it, else the search stays."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    class Step(Message):
        """Move the lane list's selection by `delta` rows (the bar keeps the focus)."""

        def __init__(self, delta: int) -> None:
            super().__init__()
            self.delta = delta

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self) -> None:
        """Show the bar and take the keys (the current search is kept, to refine it)."""
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        """Hide the bar; the table keeps whatever search the screen handed it."""
        self.remove_class("-open")

    def action_clear_search(self) -> None:
        self.value = ""  # posts Input.Changed: the screen widens the list again
        self.post_message(self.Closed(cleared=True))

    def action_step(self, delta: int) -> None:
        self.post_message(self.Step(delta))

    def _on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: back to the list, the search kept."""
        if event.input is self:
            self.post_message(self.Closed(cleared=False))
