"""`ansi.keep_sgr` and `ansi.SgrStream`: pane text shown with its colours, nothing else.

Every escape sequence but SGR goes; chunked output gives the same text as the whole, wherever
the chunks were cut (a sequence cut in two must never show up as text).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laneboard.harnesses.ansi import MAX_HELD, SgrStream, keep_sgr, split_cut

E = "\x1b"


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain text\n", "plain text\n"),
    (f"{E}[31mred{E}[0m", f"{E}[31mred{E}[0m"),
    (f"{E}[38;5;208mx{E}[38:2::1:2:3my{E}[m", f"{E}[38;5;208mx{E}[38:2::1:2:3my{E}[m"),
    (f"a{E}[2J{E}[H{E}[10;3Hb{E}[?25l{E}[?2004hc", "abc"),         # cursor, modes
    (f"a{E}[>4;2mb{E}[>4mc", "abc"),                                  # private "m": key modes
    (f"a{E}]0;title{E}\\b{E}]8;;http://x\x07c", "abc"),               # OSC: ST and BEL
    (f"a{E}Ptmux;{E}{E}]52;c;Zm9v\x07{E}\\b", "ab"),                  # tmux passthrough
    (f"a{E}(Bb{E}=c{E}7d{E}8e", "abcde"),                             # charset, keypad, save
    ("a\x9b2Jb", "ab"),                                               # 8-bit CSI
    ("tab\there\x07\x08\x00!\n", "tab\there!\n"),                     # controls
    ("crlf\r\nnext\r\n", "crlf\nnext\n"),
    ("progress 10%\rprogress 100%\n", "progress 100%\n"),             # CR overwrite
    (f"lone {E} esc{E}", "lone  esc"),
])
def test_keep_sgr(raw: str, shown: str) -> None:
    assert keep_sgr(raw) == shown


SAMPLE = (
    f"a{E}[38;5;208mb{E}]0;title\x07c{E}[2Jd{E}[>4;2me{E}Ptmux;{E}{E}]52;c;x\x07{E}\\f"
    f"{E}(Bg{E}]8;;u{E}\\h{E}[0m\n\x9b1mi"
)


@pytest.mark.parametrize("i", range(len(SAMPLE) + 1))
def test_stream_equals_whole_at_every_cut(i: int) -> None:
    s = SgrStream()
    assert s.feed(SAMPLE[:i]) + s.feed(SAMPLE[i:]) + s.flush() == keep_sgr(SAMPLE)


TOKENS = st.sampled_from([
    "x", "yz ", "\n", "\t", f"{E}[31m", f"{E}[0m", f"{E}[38;5;12m", f"{E}[2J", f"{E}[?25h",
    f"{E}[>4;2m", f"{E}]0;t\x07", f"{E}]0;t{E}\\", f"{E}P1$r{E}\\", f"{E}(B", f"{E}=", "\x9b1m",
    "é", "\x07", E,
])


@given(st.lists(TOKENS, max_size=30), st.lists(st.integers(0, 400), max_size=6))
def test_stream_equals_whole_for_any_chunks(tokens: list[str], cuts: list[int]) -> None:
    text = "".join(tokens)
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    s = SgrStream()
    assert "".join(s.feed(c) for c in chunks) + s.flush() == keep_sgr(text)


def test_a_cut_sequence_is_held_and_completed() -> None:
    s = SgrStream()
    assert s.feed(f"x{E}[38;5;2") == "x"
    assert s.feed(f"08mhi{E}") == f"{E}[38;5;208mhi"
    assert s.feed("]0;ti") == ""
    assert s.feed(f"tle\x07ok{E}[0m") == f"ok{E}[0m"


def test_an_endless_sequence_is_not_held_forever() -> None:
    text, held = split_cut(f"{E}]0;" + "t" * (MAX_HELD + 10))
    assert held == "" and keep_sgr(text) == ""  # let through, and filtered
    s = SgrStream()
    s.feed(f"{E}]0;" + "t" * (MAX_HELD + 10))
    assert s.feed("after\n") == "after\n"
