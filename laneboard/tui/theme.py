"""Colours from the cockpit's theme, for text built in Python (table cells, Rich `Text`).

Why: widgets styled in `cockpit.tcss` follow the theme through its variables (`$success`,
`$error`…), but cells and labels assembled as Rich `Text` used to carry colour names
("green", "bold red") that ignore the theme — a light theme or a colour-blind palette left
them as they were. Code here writes a *spec* with theme variables instead — `"bold $error"`,
`"$success"`, `"dim"` — and `style(spec)` turns it into a Rich `Style` from the variables of
the theme in use. The App calls `use_theme` on mount and whenever the theme changes; before
that (unit tests of a cell), the variables of Textual's default theme apply.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style

_variables: dict[str, str] = {}
_generation = 0


def use_theme(variables: dict[str, str]) -> None:
    """The CSS variables of the theme now in use (`App.get_css_variables()`)."""
    global _generation
    _variables.clear()
    _variables.update(variables)
    _generation += 1


def style(spec: str) -> Style:
    """`"bold $error"` → a Rich Style with the theme's error colour, bold."""
    return _style(spec, _generation)


@lru_cache(maxsize=256)
def _style(spec: str, generation: int) -> Style:
    if not _variables:
        from textual.app import App

        use_theme(App().get_css_variables())
        return _style(spec, _generation)
    words: list[str] = []
    color: str | None = None
    bgcolor: str | None = None
    on = False
    for word in spec.split():
        if word == "on":
            on = True
            continue
        value = _variables.get(word[1:]) if word.startswith("$") else None
        resolved = value if value and value.startswith("#") else None
        if word.startswith("$"):
            if on:
                bgcolor = resolved
            else:
                color = resolved
        else:
            words.append(word)
        on = False
    base = Style.parse(" ".join(words)) if words else Style()
    return base + Style(color=color, bgcolor=bgcolor)
