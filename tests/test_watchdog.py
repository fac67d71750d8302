"""The repetition watchdog: trips on degenerate streams, never on ordinary output."""

from __future__ import annotations

import random

import pytest

from laneboard.harnesses.watchdog import RepetitionWatchdog, token_as_written


def feed_in_chunks(text: str, seed: int = 1, wd: RepetitionWatchdog | None = None) -> bool:
    """Feed `text` in random chunk sizes, as a stream arrives; True if it tripped."""
    wd = wd or RepetitionWatchdog()
    rng = random.Random(seed)
    i = 0
    tripped = False
    while i < len(text):
        n = rng.randint(1, 300)
        tripped = wd.feed(text[i : i + n]) or tripped
        i += n
    return tripped


PROSE = (
    "The relay pastes each prompt through a tmux buffer. It then presses Enter and checks "
    "that the agent went busy; if not, it presses Enter once more. "
)
CODE = """def f(x):
    if x:
        return [
            1,
        ]
    return None

"""
TABLE = "| name | value |\n|------|-------|\n" + "".join(
    f"| k{i} | {i * 7} |\n" for i in range(300)
)


@pytest.mark.parametrize(
    "text",
    [
        PROSE * 400,
        CODE * 300,
        TABLE,
        "\n" * 10_000,
        " " * 10_000,
        "".join(f"\r[{'#' * (i % 50):<50}] {i}%" for i in range(2000)),  # progress bar that changes
        "=" * 120 + "\n" + "-" * 300 + "\n" + "─" * 200 + "\n",  # long rules
        "".join(f"line {i}\n\n" for i in range(5000)),
        "ok\n" * 49 + "other\n" + "ok\n" * 49,
        "}\n}\n}\n" + "x = 1\n",
    ],
    ids=[
        "prose",
        "code",
        "table",
        "blank-lines",
        "spaces",
        "progress",
        "rules",
        "numbered",
        "49-lines",
        "braces",
    ],
)
def test_ordinary_output_does_not_trip(text: str) -> None:
    assert not feed_in_chunks(text)


@pytest.mark.parametrize(
    "text",
    [
        "<unused50>" * 250,
        "answer: " + "<unused50>" * 1000,
        "<unused50>\n" * 60,
        "y\n" * 60,
        "same line here\n\n" * 55,  # blank lines do not break a run
        "ab" * 250,
    ],
    ids=["token", "token-after-text", "yes", "yes-short", "lines-with-blanks", "two-char"],
)
def test_degenerate_output_trips(text: str) -> None:
    wd = RepetitionWatchdog()
    assert feed_in_chunks(text, wd=wd)
    assert wd.reason


def test_trip_is_latched_until_reset() -> None:
    wd = RepetitionWatchdog()
    assert wd.feed("<unused50>" * 300)
    assert wd.feed("normal text")
    wd.reset()
    assert not wd.feed("normal text")


def test_memory_stays_bounded_on_an_endless_line() -> None:
    wd = RepetitionWatchdog()
    rng = random.Random(7)
    for _ in range(2000):  # 2 MB without a line break and without repetition
        wd.feed("".join(rng.choice("abcdefghij") for _ in range(1000)))
    assert not wd.tripped
    assert len(wd._tail) <= wd._keep
    assert len(wd._partial_line) <= wd.max_line


# ---------------------------------------------------------------- full-screen panes

from laneboard.harnesses.watchdog import PaneWatchdog  # noqa: E402


def tui_stream(text: str, *, width: int = 198, spinner_every: int = 2, seconds: bool = True) -> str:
    """What a TUI writes while it streams `text` into a pane: each row after a cursor
    move (`ESC [ row ; col H`), in colour, with a spinner glyph (and a seconds counter)
    redrawn elsewhere between rows — the shape of Claude Code 2.1.328's %output."""
    rows = [text[i : i + width] for i in range(0, len(text), width)]
    out = ["\x1b[?2026h\x1b[H\x1b[2J ╭" + "─" * 60 + "╮\r\n"]
    glyphs = "✻✽✶✳✢·"
    for n, row in enumerate(rows):
        out.append(f"\x1b[{14 + n % 30};3H\x1b[39m{row}")
        if n % spinner_every == 0:
            out.append(f"\x1b[50;1H\x1b[48;3H\x1b[31m{glyphs[n % len(glyphs)]}\x1b[39m")
            if seconds:
                out.append(f"\x1b[22G\x1b[2m{n // 10}\x1b[22m")
    return "".join(out)


def codex_stream(text: str, *, width: int = 196) -> str:
    """Codex 0.169.0's way: pieces at absolute positions, spaces as cursor-forward steps."""
    out = []
    col = 3
    row = 9
    for word in text.split(" "):
        if col + len(word) > width:
            row, col = row + 1, 3
        out.append(f"\x1b[{row};{col}H{word}\x1b[1C")
        col += len(word) + 1
    return "".join(out)


def feed_pane(raw: str, seed: int = 1) -> PaneWatchdog:
    wd = PaneWatchdog()
    rng = random.Random(seed)
    i = 0
    while i < len(raw) and not wd.tripped:
        n = rng.randint(1, 400)
        wd.feed(raw[i : i + n])
        i += n
    return wd


@pytest.mark.parametrize("width", [198, 200, 80, 77])
@pytest.mark.parametrize("token", ["<unused50>", "<pad>", "的"])
def test_pane_degenerate_stream_trips_whatever_the_width(width: int, token: str) -> None:
    wd = feed_pane(tui_stream(token * (20_000 // len(token)), width=width))
    assert wd.tripped, (width, token)
    rotations = {token[i:] + token[:i] for i in range(len(token))}
    assert any(repr(r) in wd.reason for r in rotations), wd.reason


def test_pane_degenerate_stream_trips_in_codex_layout() -> None:
    words = " ".join(["<unused50><unused50><unused50>"] * 400)
    assert feed_pane(codex_stream(words)).tripped


@pytest.mark.parametrize(
    "text", [PROSE * 40, CODE * 30, TABLE, "Point 1: fine. Point 2: fine. " * 80]
)
def test_pane_ordinary_output_does_not_trip(text: str) -> None:
    flat = text.replace("\n", " ")
    assert not feed_pane(tui_stream(flat)).tripped
    assert not feed_pane(codex_stream(flat)).tripped


def test_pane_spinner_alone_never_trips() -> None:
    """Minutes of a busy spinner and a timer (no answer yet) are not degenerate output."""
    frames = "".join(
        f"\x1b[48;3H\x1b[31m{'✻✽✶✳✢·'[i % 6]}\x1b[39m\x1b[22G\x1b[2m{i // 10}s\x1b[22m"
        for i in range(6000)
    )
    assert not feed_pane(frames).tripped


def test_pane_watchdog_latches_and_resets() -> None:
    wd = PaneWatchdog()
    assert wd.feed(tui_stream("<unused50>" * 1000))
    assert wd.feed("anything") and wd.reason
    wd.reset()
    assert not wd.tripped and not wd.feed(tui_stream(PROSE * 5))


def test_pane_escape_cut_between_chunks_is_held() -> None:
    wd = PaneWatchdog()
    raw = tui_stream("<unused50>" * 1000)
    for i in range(0, len(raw), 3):  # cuts every escape sequence somewhere
        wd.feed(raw[i : i + 3])
    assert wd.tripped and "\x1b" not in wd.reason and "[" not in wd.reason


@pytest.mark.parametrize(
    ("seen", "written"),
    [("ed50><unus", "<unused50>"), ("<unused50>", "<unused50>"), ("lo hel", "hello "),
     ("ab", "ab"), ("]x[", "[]x")],
)
def test_a_repeated_unit_is_reported_as_written(seen: str, written: str) -> None:
    """Where a chunk boundary cut the unit must not change what the event says."""
    assert token_as_written(seen) == written
