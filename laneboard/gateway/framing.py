"""Splitting a byte stream into events: SSE (`\\n\\n`-separated) and NDJSON (one per line).

Why incremental splitters: the gateway must relay a stream event by event (an agent shows
tokens as they come), yet inspect whole events (usage, tool calls). An upstream may cut an
event across TCP reads anywhere, so the splitter keeps the unfinished tail and yields only
complete events, byte for byte as received (nothing is re-serialised unless changed).
The tail is bounded: an "event" longer than `max_event` bytes is an error, never an
unbounded buffer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_EVENT = 8 * 1024 * 1024


class FramingError(ValueError):
    """The upstream sent something that is not the stream it announced."""


class _Splitter:
    sep: bytes = b"\n"

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._buf = b""
        self._max = max_event

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Complete events (each with its separator) found so far."""
        buf = self._buf + data if self._buf else data
        start = 0
        while True:
            end = self._find(buf, start)
            if end < 0:
                break
            yield buf[start:end]
            start = end
        self._buf = buf[start:]
        if len(self._buf) > self._max:
            raise FramingError(f"a stream event exceeds {self._max} bytes")

    def _find(self, buf: bytes, start: int) -> int:
        i = buf.find(self.sep, start)
        return -1 if i < 0 else i + len(self.sep)

    def rest(self) -> bytes:
        """What is left at the end of the stream (an unterminated last event)."""
        out, self._buf = self._buf, b""
        return out


class SseSplitter(_Splitter):
    """Server-sent events end with a blank line (`\\n\\n`, or `\\r\\n\\r\\n`)."""

    def _find(self, buf: bytes, start: int) -> int:
        # `\r\n\r\n` holds no `\n\n`, so look for it only before the first `\n\n`:
        # searching the whole rest of the buffer for it at every event made one large
        # read cost O(events x bytes) (the gateway's throughput bottleneck).
        a = buf.find(b"\n\n", start)
        b = buf.find(b"\r\n\r\n", start, a + 4) if a >= 0 else buf.find(b"\r\n\r\n", start)
        if a < 0 and b < 0:
            return -1
        if b >= 0 and (a < 0 or b < a):
            return b + 4
        return a + 2


class NdjsonSplitter(_Splitter):
    """Ollama streams one JSON object per line."""


@dataclass
class SseEvent:
    """One parsed SSE event: its `event:` name and its `data:` JSON (None if not JSON)."""

    name: str | None
    data: Any
    raw: bytes


def parse_sse(raw: bytes) -> SseEvent:
    """Parse one event on bytes (no decode of the whole event, JSON read from the bytes):
    every streamed event passes here, so it is kept to one split and one `json.loads`."""
    name: str | None = None
    lines: list[bytes] = []
    for line in raw.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(b"data:"):
            lines.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    data: Any = None
    if lines:
        text = lines[0] if len(lines) == 1 else b"\n".join(lines)
        try:
            data = json.loads(text)
        except ValueError:
            data = "[DONE]" if text == b"[DONE]" else None
    return SseEvent(name, data, raw)


def sse(name: str | None, data: Any) -> bytes:
    """Serialise one SSE event (the gateway's own or a changed one)."""
    head = f"event: {name}\n" if name else ""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {body}\n\n".encode()


def parse_ndjson(raw: bytes) -> Any:
    text = raw.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
