"""Tail a growing JSONL file: the agents' transcripts and rollout files.

Agents append one JSON object per line while they run; a reader polls and must never
act on a half-written last line, so only whole lines up to the last newline are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonlTail:
    """Reads new whole lines of a JSONL file from a remembered byte offset.

    `path` may be None or not exist yet (the agent creates it at its first prompt);
    `read_new` then returns nothing. Lines that are not JSON objects are skipped.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.offset = 0

    def mark_end(self) -> None:
        """Skip everything written so far (called just before a prompt is sent)."""
        if self.path is not None and self.path.exists():
            self.offset = self.path.stat().st_size

    def read_new(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records: list[dict[str, Any]] = []
        for raw in data[: end + 1].splitlines():
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
        return records
