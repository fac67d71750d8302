"""ctrl+u followed at once by text (keys arriving in one terminal read, as from a script
driving the cockpit or a fast typist's key burst) must leave exactly that text in the
prompt bar. Textual's Input handles ctrl+u as a binding that bubbles through the DOM's
message queues, so the characters after it were inserted first and then deleted with it:
notify_bench `--via cockpit` sent '' (lost prompts) or "lease run …" (the head cut off).

The keys are posted to the app the way Textual's driver posts what it parsed from the
terminal (one `Key` message each, no wait between them).
"""

from __future__ import annotations

from collections.abc import Iterator

from textual import events
from textual.app import App
from textual.widget import Widget

from laneboard.tui.widgets.prompt_bar import LaneSuggester, PromptBar

TEXT = "@bench Please run the notify-bench-turn-3 check."


class _BarApp(App[None]):
    def compose(self) -> Iterator[Widget]:
        yield PromptBar(LaneSuggester(["bench"]), blink=False, id="bar")

    def on_mount(self) -> None:
        self.query_one(PromptBar).focus_prompt()


def _key(ch: str) -> events.Key:
    names = {"@": "at", " ": "space", ".": "full_stop", "-": "minus"}
    return events.Key(names.get(ch, ch), ch)


async def test_ctrl_u_then_a_burst_of_text_keeps_the_text() -> None:
    app = _BarApp()
    async with app.run_test() as pilot:
        bar = app.query_one(PromptBar)
        for rep in range(3):
            bar.input.value = f"left over {rep}"
            bar.input.cursor_position = len(bar.input.value)
            app.post_message(events.Key("ctrl+u", None))
            for ch in TEXT:
                app.post_message(_key(ch))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert bar.input.value == TEXT, rep
