"""The repetition watchdog: trips on degenerate streams, never on ordinary output."""

from __future__ import annotations

import random

import pytest

from laneboard.harnesses.watchdog import RepetitionWatchdog


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
