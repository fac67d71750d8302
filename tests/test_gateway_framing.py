"""The gateway's SSE splitter and parser after the per-event cost cuts (issue #14, item 4).

The splitter now looks for a CRLF blank line only before the first LF one, and the parser
works on bytes: these tests pin that nothing changed in what they yield — LF, CRLF and
mixed framing, events cut at every byte boundary, multi-line data, `[DONE]`, non-JSON
data, and the bound on an unterminated event.
"""

from __future__ import annotations

import json

import pytest

from laneboard.gateway.framing import FramingError, SseSplitter, parse_sse

EVENTS = [
    b'event: message_start\ndata: {"type":"message_start","n":1}\n\n',
    b'event: content_block_delta\r\ndata: {"type":"content_block_delta","t":"a\\u2028b"}\r\n\r\n',
    b'data: {"type":"x",\ndata: "multi":true}\n\n',
    b"data: [DONE]\n\n",
    b"event: ping\ndata: not json\n\n",
]


def _split(stream: bytes, cuts: list[int]) -> list[bytes]:
    sp = SseSplitter()
    out: list[bytes] = []
    last = 0
    for c in [*cuts, len(stream)]:
        out += list(sp.feed(stream[last:c]))
        last = c
    assert sp.rest() == b""
    return out


def test_every_byte_boundary_yields_the_same_events() -> None:
    stream = b"".join(EVENTS)
    assert _split(stream, []) == EVENTS
    for cut in range(1, len(stream)):
        assert _split(stream, [cut]) == EVENTS, cut


def test_a_crlf_stream_after_a_large_read_still_splits() -> None:
    crlf = [f"data: {json.dumps({'i': i})}\r\n\r\n".encode() for i in range(2000)]
    assert _split(b"".join(crlf), []) == crlf


def test_parse_sse_reads_names_json_multiline_done_and_garbage() -> None:
    first = parse_sse(EVENTS[0])
    assert first.name == "message_start" and first.data == {"type": "message_start", "n": 1}
    second = parse_sse(EVENTS[1])
    assert second.name == "content_block_delta" and second.data["t"] == "a\u2028b"
    assert parse_sse(EVENTS[2]).data == {"type": "x", "multi": True}
    assert parse_sse(EVENTS[3]).data == "[DONE]"
    ping = parse_sse(EVENTS[4])
    assert ping.name == "ping" and ping.data is None


def test_an_unterminated_event_over_the_bound_is_an_error() -> None:
    sp = SseSplitter(max_event=64)
    with pytest.raises(FramingError):
        list(sp.feed(b"data: " + b"x" * 100))
