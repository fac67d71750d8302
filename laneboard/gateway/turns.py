"""Every model request a lane sends through the gateway becomes a `turn` artifact.

Why the gateway writes them: it is the only place that sees every turn of every lane —
the agent CLIs' own turns included, which never pass the supervisor's `send` — with the
model that was asked for, the model that served (after failover), the tool calls the
model made, the calls the wire fence refused, the exact usage and the redactions. One
request is one turn here: the unit the provider bills and the fence judges.

The artifact is written after the response has been relayed to the CLI (a background
task), so keeping the record never delays a stream. What is stored has already been
redacted on the wire and is redacted again by the store (idempotent), so no secret
reaches a file. A lane without an artifacts folder (registered by an older laneboard, or
by a caller that names none) is simply not recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laneboard.artifacts import ArtifactRecord, ArtifactStore, Redactor
from laneboard.gateway.protocols import Protocol, Usage

log = logging.getLogger("laneboard.gateway")

MAX_TEXT = 64 * 1024
"""What a turn keeps of the prompt and of the answer (the store bounds them again)."""
TEXT_KEYS = ("text", "content", "output", "input", "prompt", "arguments")


def _texts(value: Any, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        out.append(value[: budget[0]])
        budget[0] -= len(value)
    elif isinstance(value, list):
        for v in value:
            _texts(v, out, budget)
    elif isinstance(value, dict):
        for k in TEXT_KEYS:
            if k in value:
                _texts(value[k], out, budget)


def prompt_of(proto: Protocol, body: Any) -> str:
    """The newest message of a request (what this turn answers), as text."""
    if not isinstance(body, dict):
        return ""
    if proto == "ollama" and isinstance(body.get("prompt"), str):
        return str(body["prompt"])[:MAX_TEXT]
    msgs = body.get("input") if proto == "responses" else body.get("messages")
    if isinstance(msgs, str):
        return msgs[:MAX_TEXT]
    if not isinstance(msgs, list) or not msgs:
        return ""
    out: list[str] = []
    _texts(msgs[-1], out, [MAX_TEXT])
    return "\n".join(s for s in out if s)


def whole_text(proto: Protocol, body: Any) -> str:
    """The model's text in a non-streamed response body."""
    if not isinstance(body, dict):
        return ""
    if proto == "anthropic":
        part: Any = [b for b in body.get("content") or [] if isinstance(b, dict)
                     and b.get("type") == "text"]
    elif proto == "responses":
        part = [i for i in body.get("output") or [] if isinstance(i, dict)
                and i.get("type") == "message"]
    elif proto == "chat":
        ch = body.get("choices")
        part = ch[0].get("message") if isinstance(ch, list) and ch and isinstance(ch[0], dict) \
            else None
    else:
        part = body.get("message") or body.get("response")
    out: list[str] = []
    _texts(part, out, [MAX_TEXT])
    return "".join(out)


@dataclass
class Turn:
    """What the gateway knows of one request once its response is relayed."""

    lane: str
    harness: str
    path: str
    proto: Protocol
    started: float
    prompt: str = ""
    requested_model: str | None = None
    served_model: str | None = None
    hops: Sequence[str] = ()
    tools: Sequence[str] = ()
    refused: Sequence[str] = ()
    usage: Usage | None = None
    cost_usd: float | None = None
    redactions: int = 0
    status: int = 0
    answer: str = ""
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> ArtifactRecord:
        usage: dict[str, Any] | None = None
        if self.usage is not None and self.usage.seen:
            usage = {"input_tokens": self.usage.input_tokens,
                     "output_tokens": self.usage.output_tokens,
                     "cache_read_tokens": self.usage.cache_read,
                     "cost_usd": self.cost_usd}
        served = self.served_model or self.requested_model
        ok = self.error is None and 200 <= self.status < 400
        return ArtifactRecord(
            kind="turn", lane=self.lane, prompt=self.prompt, answer=self.answer,
            harness=self.harness, model=served, state="done" if ok else "failed",
            started=self.started, finished=time.time(), usage=usage,
            error=self.error if self.error else (None if ok else f"HTTP {self.status}"),
            title=f"{self.lane}: {self.requested_model or '?'} → {served or '?'}",
            extra={
                "source": "gateway",
                "requested_model": self.requested_model,
                "served_model": served,
                "fallback_hops": list(self.hops),
                "tool_calls": list(self.tools),
                "refused_calls": list(self.refused),
                "wire_redactions": self.redactions,
                "protocol": self.proto,
                "path": self.path,
                "status": self.status,
                **self.extra,
            },
        )


class TurnWriter:
    """Writes `Turn`s into each lane's artifact store, off the request's path."""

    def __init__(self) -> None:
        self._stores: dict[tuple[str, str], ArtifactStore] = {}
        """(artifacts root, lane) → store: each lane's store redacts with its own keys."""
        self._tasks: set[asyncio.Task[None]] = set()

    def write(self, root: str | None, turn: Turn, redactor: Redactor) -> None:
        """Schedule `turn`'s artifact under `root` (None: the lane keeps no artifacts)."""
        if not root:
            return
        task = asyncio.get_running_loop().create_task(self._write(root, turn, redactor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, root: str, turn: Turn, redactor: Redactor) -> None:
        key = (root, turn.lane)
        store = self._stores.get(key)
        if store is None or store.redactor is not redactor:
            if store is not None:
                store.close()
            store = self._stores[key] = ArtifactStore(Path(root), redactor=redactor)
        try:
            await store.write(turn.record())
        except Exception as e:  # a record lost is logged; the lane's turn is not affected
            log.warning("lane %s: could not write the turn artifact: %s", turn.lane, e)

    async def drain(self) -> None:
        """Wait for the artifacts still being written (on shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
