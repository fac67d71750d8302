"""Regular expressions from a config, run by RE2: time linear in the text, whatever the pattern.

The router runs `routing.rules[].match.regex` on every prompt, and the cockpit routes on
every keystroke. Python's `re` backtracks: `(a+)+$` against thirty `a`s and a `!` takes
minutes, so one careless rule would freeze the cockpit. RE2 (google-re2) never backtracks.
What it cannot do in linear time — backreferences (`\\1`), lookarounds (`(?=`, `(?<!`),
atomic groups, `(?x)` — it refuses at compile time, and `config check` reports that with
file:line like any other config error, so a pattern that is accepted is fast.

RE2's classes `\\w`, `\\d`, `\\s` and `\\b` are ASCII; use `\\pL`, `\\p{N}` for Unicode.
Text that cannot be encoded as UTF-8 (a lone surrogate from a surrogate-escaped stdin) is
matched as its bytes with the surrogates kept, so matching never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import re2

#: Why a refused pattern is refused, appended to RE2's own message.
UNSUPPORTED_HINT = (
    "RE2 syntax, so that no rule can hang the router: no backreferences or lookarounds"
)


def _options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own message to stderr
    options.case_sensitive = not ignore_case
    return options


def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses `pattern`, or None when it compiles."""
    try:
        re2.compile(pattern, _options(False))
    except re2.error as e:
        detail = e.args[0] if e.args else e
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return str(detail)
    except UnicodeEncodeError:
        return "the pattern holds a character that is not valid Unicode"
    return None


def compile_search(pattern: str, *, ignore_case: bool) -> Callable[[str], bool]:
    """A test `text -> bool`: does `pattern` match anywhere in `text` (RE2, linear time)?

    Raises ValueError with RE2's reason when the pattern is not supported.
    """
    try:
        compiled = re2.compile(pattern, _options(ignore_case))
    except re2.error:
        raise ValueError(regex_problem(pattern) or "not a valid regular expression") from None

    def search(text: str) -> bool:
        # Bytes skip the wrapper's per-match offset bookkeeping and accept any str.
        return compiled.search(text.encode("utf-8", "surrogatepass")) is not None

    return search


class LinearPattern:
    """A compiled RE2 pattern with the one method callers of `re.Pattern` use here:
    `search(text)`, truthy when the pattern matches anywhere (`None` otherwise).

    Command lanes match `ready:` / `busy:` against every screen they read; with `re`, a
    careless `(a+)+$` would stall the harness on a long line.
    """

    def __init__(self, pattern: str, *, multiline: bool = False) -> None:
        self.pattern = pattern
        body = end_anchor_for_re2(pattern)
        self._search = compile_search(f"(?m){body}" if multiline else body, ignore_case=False)

    def search(self, text: str) -> bool | None:
        return True if self._search(text) else None


_PY_END = re.compile(r"(?<!\\)((?:\\\\)*)\\Z")


def end_anchor_for_re2(pattern: str) -> str:
    """Python's `\\Z` (the very end of the text) spelled as RE2 spells it, `\\z`: configs
    written for `re` (`ready: "\\$\\Z"`) keep their meaning. Only an unescaped `\\Z`."""
    return _PY_END.sub(lambda m: m.group(1) + "\\z", pattern)
