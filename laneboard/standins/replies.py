"""Canned replies: what a stand-in answers to one model call.

A test scripts replies in the order it expects model calls; each dialect renders the same
`Reply` in its own wire format (Anthropic SSE, Responses SSE, chat-completions SSE, Ollama
NDJSON). Keeping the script dialect-neutral lets one test drive Claude Code, Codex and an
Ollama lane with the same intentions ("answer text", "call a tool", "fail with 429").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_CHUNK = re.compile(r"\S+\s*|\s+")

#: The token a broken tokenizer repeats without end (seen with Gemma-family GGUFs).
DEGENERATE_TOKEN = "<unused50>"


def split_chunks(text: str) -> tuple[str, ...]:
    """Split text into word-sized stream chunks whose concatenation is exactly `text`."""
    return tuple(_CHUNK.findall(text))


class StreamAborted(Exception):
    """The server stopped mid-stream; the response is cut off without its terminator."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model makes: `input` is a JSON object, or free-form text for
    custom (freeform) tools such as Codex's `exec`."""

    name: str
    input: dict[str, Any] | str = field(default_factory=dict)
    call_id: str = "call_1"
    namespace: str | None = None
    """A tool inside a namespace (Codex lists an MCP server's tools as the namespace
    `mcp__<server>`): the Responses dialect then answers with a `function_call` item that
    names the namespace, as the API does, instead of a custom tool call."""
    function: bool = False
    """A function tool (Responses `function_call` with JSON `arguments`, e.g. Codex's
    `exec_command` with `-m gpt-5.5`) rather than a freeform one."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods rather than by hand.

    Streaming: `chunks` are sent one per event, `repeat` times over, with `delay` seconds
    between them. `fail_after` (if set) ends the stream with a dialect-specific error
    event after that many chunks. `status` != 200 answers with an HTTP error instead.
    """

    chunks: tuple[str, ...] = ()
    tool: ToolCall | None = None
    status: int = 200
    error_message: str = ""
    error_type: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    repeat: int = 1
    fail_after: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def text(
        cls,
        text: str,
        *,
        delay: float = 0.0,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> Reply:
        """Answer with `text`, streamed word by word."""
        return cls(
            chunks=split_chunks(text),
            delay=delay,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    @classmethod
    def chunked(cls, *chunks: str, delay: float = 0.0) -> Reply:
        """Answer with exactly these stream chunks (to test chunk boundaries)."""
        return cls(chunks=tuple(chunks), delay=delay)

    @classmethod
    def slow(cls, text: str, delay: float = 0.2) -> Reply:
        """Answer with `text`, waiting `delay` seconds between chunks (busy-state tests)."""
        return cls.text(text, delay=delay)

    @classmethod
    def tool_call(
        cls, name: str, input: dict[str, Any] | str | None = None, *, text: str = "",
        call_id: str = "call_1", namespace: str | None = None, function: bool = False,
    ) -> Reply:
        """Call tool `name` (in `namespace`, if given) with `input`, optionally after text;
        `function`: as a function tool in the Responses dialect (see `ToolCall.function`)."""
        return cls(
            chunks=split_chunks(text),
            tool=ToolCall(name, {} if input is None else input, call_id, namespace, function),
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "",
        *,
        retry_after: float | int | str | None = None,
        error_type: str | None = None,
    ) -> Reply:
        """Fail the call with HTTP `status` and the dialect's error body."""
        return cls(
            status=status,
            error_message=message or f"stand-in error {status}",
            error_type=error_type,
            retry_after=None if retry_after is None else str(retry_after),
        )

    @classmethod
    def endless(
        cls, token: str = DEGENERATE_TOKEN, *, count: int = 100_000, delay: float = 0.0
    ) -> Reply:
        """Stream `token` `count` times: a degenerate model for watchdog tests.

        Bounded so a test that forgets its watchdog still ends; the stand-in also stops
        as soon as the client hangs up or the server stops.
        """
        return cls(chunks=(token,), repeat=count, delay=delay)

    @classmethod
    def broken(
        cls,
        text: str = "partial answer ",
        message: str = "an error was encountered while running the model",
        *,
        after: int | None = None,
    ) -> Reply:
        """Stream some of `text`, then a mid-stream error (HTTP status stays 200)."""
        chunks = split_chunks(text)
        return cls(
            chunks=chunks,
            fail_after=len(chunks) if after is None else after,
            error_message=message,
        )

    # -- rendering helpers used by the dialects -------------------------------------------

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def fails_midstream(self) -> bool:
        return self.fail_after is not None

    def full_text(self) -> str:
        """Everything the stream would carry before any mid-stream failure."""
        limit = self._chunk_limit()
        out: list[str] = []
        for i in range(limit):
            out.append(self.chunks[i % len(self.chunks)])
        return "".join(out)

    def _chunk_limit(self) -> int:
        total = len(self.chunks) * max(self.repeat, 0)
        if self.fail_after is not None:
            total = min(total, self.fail_after)
        return total

    def stream(self, stopping: threading.Event) -> Iterator[str]:
        """Yield the chunks to send, honouring `delay`, `repeat` and `fail_after`.

        Raises `StreamAborted` when the server is stopping, so no handler thread outlives
        it and the client sees a cut stream rather than a falsely complete one.
        """
        for i in range(self._chunk_limit()):
            if stopping.is_set() or (i and self.delay > 0 and stopping.wait(self.delay)):
                raise StreamAborted("the stand-in is stopping")
            yield self.chunks[i % len(self.chunks)]

    def usage(self, prompt: str) -> tuple[int, int]:
        """(input, output) token counts: scripted ones, else a deterministic estimate."""
        inp = self.input_tokens
        if inp is None:
            inp = max(1, len(prompt.split()))
        out = self.output_tokens
        if out is None:
            out = max(1, self._chunk_limit() + (1 if self.tool else 0))
        return inp, out
