"""Pane buffers of lanes no log shows keep their lines but nothing pending (no flush is
needed for them), and a log that starts showing a lane is refilled once: the text that was
pending is in the refill, so a later flush does not append it a second time."""

from __future__ import annotations

from laneboard.tui.buffers import PaneBuffers


def test_a_hidden_lane_keeps_lines_but_nothing_pending() -> None:
    bufs = PaneBuffers()
    bufs.feed("lane1", "one\ntwo\n", shown=False)
    assert bufs.text("lane1") == "one\ntwo\n"
    assert "lane1" not in bufs.dirty
    assert bufs.take("lane1") == ""


def test_a_shown_lane_is_pending_until_taken() -> None:
    bufs = PaneBuffers()
    bufs.feed("lane0", "one\n")
    assert "lane0" in bufs.dirty
    assert bufs.take("lane0") == "one\n"
    assert bufs.take("lane0") == ""


def test_refill_holds_the_pending_text_once() -> None:
    bufs = PaneBuffers()
    bufs.feed("lane0", "seen\n")
    bufs.take("lane0")  # flushed into the log
    bufs.feed("lane0", "not yet flushed\n")  # then the log shows another lane
    refill = bufs.refill("lane0")  # ... and this one again
    assert refill == "seen\nnot yet flushed\n"
    assert "lane0" not in bufs.dirty
    assert bufs.take("lane0") == ""  # the next flush appends nothing twice
    bufs.feed("lane0", "new\n")
    assert bufs.take("lane0") == "new\n"
