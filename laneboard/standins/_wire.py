"""Writing HTTP/1.1 answers from a stdlib handler: JSON, and chunked SSE / NDJSON streams.

Streams use chunked transfer encoding so every response has a clean end (the zero-length
chunk) while the connection stays reusable; clients that hang up mid-stream surface as
`ClientGone`, which the server swallows instead of printing a traceback.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class ClientGone(Exception):
    """The client closed the connection while we were writing."""


_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def dumps(value: Any) -> bytes:
    """Compact JSON, UTF-8, non-ASCII kept as is (as the real servers send it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Wire:
    """The response side of one request."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._h = handler
        self._streaming = False
        self.sent = False

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A complete response with Content-Length (HEAD gets the headers only)."""
        self.sent = True
        try:
            self._h.send_response(status)
            self._h.send_header("Content-Type", content_type)
            self._h.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self._h.send_header(name, value)
            self._h.end_headers()
            if self._h.command != "HEAD":
                self._h.wfile.write(body)
            self._h.wfile.flush()
        except _GONE as exc:
            raise ClientGone from exc

    def send_json(
        self, status: int, value: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.send_bytes(status, dumps(value), "application/json", headers)

    def send_text(self, status: int, text: str) -> None:
        self.send_bytes(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    # -- streams ---------------------------------------------------------------------------

    def start_stream(self, content_type: str) -> None:
        self.sent = True
        try:
            self._h.send_response(200)
            self._h.send_header("Content-Type", content_type)
            self._h.send_header("Cache-Control", "no-cache")
            self._h.send_header("Transfer-Encoding", "chunked")
            self._h.end_headers()
            self._h.wfile.flush()
        except _GONE as exc:
            raise ClientGone from exc
        self._streaming = True

    def write_chunk(self, data: bytes) -> None:
        if not data:
            return
        try:
            self._h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self._h.wfile.flush()
        except _GONE as exc:
            raise ClientGone from exc

    def sse(self, event: str | None, data: Any) -> None:
        """One SSE event; `data` is JSON-encoded unless it is already a string."""
        payload = data.encode("utf-8") if isinstance(data, str) else dumps(data)
        head = f"event: {event}\n".encode() if event else b""
        self.write_chunk(head + b"data: " + payload + b"\n\n")

    def ndjson(self, value: Any) -> None:
        """One NDJSON line: a complete JSON object and `\\n`, no blank lines."""
        self.write_chunk(dumps(value) + b"\n")

    def end_stream(self) -> None:
        """The terminating zero-length chunk: the client sees a clean end of body."""
        if not self._streaming:
            return
        self._streaming = False
        try:
            self._h.wfile.write(b"0\r\n\r\n")
            self._h.wfile.flush()
        except _GONE as exc:
            raise ClientGone from exc
