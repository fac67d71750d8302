"""The prompt bar: focused at start, `@lane` and `/model` completion, history, multi-line.

Single-line mode is an `Input`: Enter sends, → accepts the grey completion, ↑/↓ walk the
history. `ctrl+l` switches to multi-line mode (a `TextArea`): Enter inserts a newline and
`ctrl+s` (or `ctrl+j`/`ctrl+enter` where the terminal sends them) sends. The bar posts
`Changed` on every edit (the screen recomputes the route preview) and `Submitted` on send;
it knows nothing about lanes beyond the names it completes.

The `TextArea` is mounted the first time multi-line mode is switched on: importing and
composing it costs ~20 ms of the first frame, for a mode most sessions never use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Label

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.widgets import TextArea

#: Seconds the cursor keeps blinking after the last key.
BLINK_FOR_S = 10.0


class LaneSuggester(Suggester):
    """Completes `@la` → `@lane ` and `/model g` → `/model gpt55` (a word at the end)."""

    def __init__(self, lanes: Sequence[str], models: Sequence[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.lanes = list(lanes)
        self.models = list(models)

    async def get_suggestion(self, value: str) -> str | None:
        if value.startswith("/model "):
            word = value[len("/model "):]
            return _complete(value, word, self.models, "")
        if value.startswith("/") and " " not in value:
            return _complete(value, value[1:], ["model "], "")
        word = value.rsplit(" ", 1)[-1]
        if word.startswith("@"):
            return _complete(value, word[1:], self.lanes, " ")
        return None


def _complete(value: str, word: str, names: Sequence[str], tail: str) -> str | None:
    if not word and not tail:
        return None
    for name in names:
        if name.lower().startswith(word.lower()) and name != word:
            return value + name[len(word):] + tail
    return None


class PromptInput(Input):
    """The one-line prompt field: Textual's `Input`, whose text length changes no layout.

    `Input` sets its `virtual_size` on every keystroke, and `virtual_size` is a layout
    reactive: each key re-laid out and repainted the whole screen (with 64 lanes in the
    table most of a key's latency; issue 18). The field's size on screen never depends on
    its text (`width: 1fr`), so only its scrolling is updated (`LaneLog` does the same)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)

    async def _on_key(self, event: events.Key) -> None:
        """ctrl+u (delete to the left) here, in key order: as `Input`'s binding it bubbled
        through the DOM's message queues, so keys typed right after it (one terminal read)
        were inserted first and deleted with it — prompts sent empty or with their head
        cut off (notify_bench `--via cockpit`)."""
        if event.key == "ctrl+u":
            event.stop()
            event.prevent_default()
            self.action_delete_left_all()
            return
        await super()._on_key(event)


class PromptBar(Widget):
    """Where prompts are typed; the route preview sits just above it."""

    DEFAULT_CSS = """
    PromptBar { height: auto; }
    PromptBar > Horizontal { height: auto; }
    PromptBar #prompt-mark { width: 2; padding: 1 0 0 1; color: $accent; }
    PromptBar Input { width: 1fr; }
    PromptBar TextArea { width: 1fr; height: 6; display: none; }
    PromptBar.-multiline Input { display: none; }
    PromptBar.-multiline TextArea { display: block; }
    """

    BINDINGS = [
        Binding("ctrl+l", "toggle_multiline", "Multi-line", show=True),
        Binding("ctrl+s,ctrl+j,ctrl+enter", "send", "Send", show=False),
        Binding("up", "history(-1)", "Previous prompt", show=False),
        Binding("down", "history(1)", "Next prompt", show=False),
    ]

    multiline: reactive[bool] = reactive(False)

    class Submitted(Message):
        """Enter (or ctrl+s in multi-line mode) with some text."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Changed(Message):
        """The text changed; the screen previews the route."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, suggester: LaneSuggester, *, blink: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._suggester = suggester
        self._blink = blink
        self._history: list[str] = []
        self._cursor = 0
        self._steady: Timer | None = None

    def compose(self) -> Iterator[Widget]:
        with Horizontal():
            yield Label("›", id="prompt-mark")
            field = PromptInput(
                placeholder="prompt · @lane · /model REF   (ctrl+l: multi-line)",
                suggester=self._suggester, id="prompt-input",
            )
            field.cursor_blink = self._blink
            yield field

    def on_mount(self) -> None:
        self._blink_a_while()

    def on_key(self) -> None:
        self._blink_a_while()

    def _blink_a_while(self) -> None:
        """Blink the cursor while the person types, then hold it steady: a blinking cursor
        repaints twice a second forever, most of an idle cockpit's CPU (issue 8)."""
        if not self._blink:
            return
        for editor in self._editors():
            editor.cursor_blink = True
        if self._steady is not None:
            self._steady.stop()
        self._steady = self.set_timer(BLINK_FOR_S, self._hold_steady)

    def _hold_steady(self) -> None:
        self._steady = None
        for editor in self._editors():
            editor.cursor_blink = False

    def _editors(self) -> list[Input | TextArea]:
        from textual.widgets import TextArea

        return [*self.query(Input), *self.query(TextArea)]

    @property
    def input(self) -> Input:
        return self.query_one("#prompt-input", Input)

    @property
    def area(self) -> TextArea:
        """The multi-line editor (mounted by the first switch to multi-line mode)."""
        from textual.widgets import TextArea

        return self.query_one("#prompt-area", TextArea)

    @property
    def has_area(self) -> bool:
        return bool(self.query("#prompt-area"))

    async def _mount_area(self) -> None:
        from textual.widgets import TextArea

        area = TextArea(id="prompt-area", soft_wrap=True, show_line_numbers=False)
        area.cursor_blink = self._blink
        await self.query_one(Horizontal).mount(area)

    @property
    def text(self) -> str:
        return self.area.text if self.multiline else self.input.value

    def focus_prompt(self) -> None:
        (self.area if self.multiline else self.input).focus()

    def clear(self) -> None:
        self.input.value = ""
        if self.has_area:
            self.area.text = ""

    def restore(self, text: str) -> None:
        """Put a submitted text back (it could not be sent yet)."""
        if self.multiline:
            self.area.text = text
            self.area.move_cursor(self.area.document.end)
        else:
            self.input.value = text
            self.input.cursor_position = len(text)

    def watch_multiline(self, multiline: bool) -> None:
        self.set_class(multiline, "-multiline")
        if multiline:
            self.area.text = self.input.value
            self.area.move_cursor(self.area.document.end)
        elif self.has_area:
            self.input.value = self.area.text.replace("\n", " ").strip()
        self.focus_prompt()

    async def action_toggle_multiline(self) -> None:
        if not self.multiline and not self.has_area:
            await self._mount_area()
        self.multiline = not self.multiline

    def action_send(self) -> None:
        self._submit(self.text)

    def action_history(self, delta: int) -> None:
        if self.multiline or not self._history:
            return
        self._cursor = max(0, min(len(self._history), self._cursor + delta))
        value = self._history[self._cursor] if self._cursor < len(self._history) else ""
        self.input.value = value
        self.input.cursor_position = len(value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return self.multiline
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.text_area.text))

    def _submit(self, text: str) -> None:
        if not text.strip():
            return
        if not self._history or self._history[-1] != text:
            self._history.append(text)
        self._cursor = len(self._history)
        self.clear()
        self.post_message(self.Submitted(text))
