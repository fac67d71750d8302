"""The lane state file's write-behind save (issue 15: off the send's critical path).

What they hold: `save_soon` returns before the disk write and the file then holds the
newest state (many saves coalesce; an older snapshot never replaces a newer file); a loop
that ends with a save still pending writes it (nothing asked for is lost); `flush` waits
for it; a write that fails is logged and never raised into the caller's turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from laneboard.lanes.statefile import StateFile


def _on_disk(path: Path) -> dict[str, dict[str, object]]:
    lanes: dict[str, dict[str, object]] = json.loads(path.read_text())["lanes"]
    return lanes


async def test_save_soon_coalesces_and_the_newest_state_wins(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state" / "s.json")
    for i in range(1, 51):
        sf.lane("coder").prompts = i
        sf.save_soon()
    assert sf.pending  # asked, not yet on disk: the caller did not wait for it
    await sf.flush()
    assert not sf.pending
    assert _on_disk(sf.path)["coder"]["prompts"] == 50
    sf.lane("coder").prompts = 51
    sf.save_soon()
    await sf.flush()
    assert _on_disk(sf.path)["coder"]["prompts"] == 51
    assert [p.name for p in sf.path.parent.iterdir()] == ["s.json"]  # no temp file left


def test_a_loop_that_ends_with_a_save_pending_still_writes_it(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state" / "s.json")

    async def turn() -> None:
        sf.lane("main").cost_usd = 1.25
        sf.save_soon()  # and return at once: asyncio.run cancels the writer at its end

    asyncio.run(turn())
    assert not sf.pending
    assert _on_disk(sf.path)["main"]["cost_usd"] == 1.25


async def test_a_writer_cancelled_before_its_first_step_still_writes(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state" / "s.json")
    sf.lane("main").prompts = 7
    sf.save_soon()
    writer = sf._writer
    assert writer is not None
    writer.cancel()  # before it ever ran: its body cannot catch this
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert not sf.pending
    assert _on_disk(sf.path)["main"]["prompts"] == 7


def test_save_soon_outside_a_loop_saves_at_once(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state" / "s.json")
    sf.lane("review").restarts = 3
    sf.save_soon()
    assert _on_disk(sf.path)["review"]["restarts"] == 3


async def test_a_failed_write_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    sf = StateFile(blocker / "s.json")
    sf.lane("coder").prompts = 1
    with caplog.at_level(logging.WARNING, logger="laneboard.lanes.statefile"):
        sf.save_soon()
        await sf.flush()
    assert "could not save lane state" in caplog.text
    assert blocker.read_text().startswith("a file")
