"""Claude Code's session transcript and `-p --output-format stream-json` lines, pinned to 2.1.328.

Claude Code draws on the alternate screen, so tmux keeps no scrollback of an interactive
pane: the transcript is the only reliable source of answers, usage and API errors. Both
formats are internal to the CLI and change between releases; every rule about them lives
here (see ../shared/reference/harness-claude-code.md, sections 3, 4 and 8).

Transcript (one JSON object per line), at
`<CLAUDE_CONFIG_DIR or ~/.claude>/projects/<cwd, every non-alphanumeric char → "-">/<session>.jsonl`:

- `{"type":"user","message":{"content":"<prompt>"}}` — the prompt (a pasted prompt is
  wrapped in `<pasted_content id="…">…</pasted_content …>`); tool results are user records
  whose content is a list of `tool_result` blocks.
- `{"type":"assistant","message":{"id":…,"model":…,"content":[{"type":"text"|"tool_use",…}],
  "usage":{…}}}` — one record per content block, repeating the message id and its usage.
  An API failure is an assistant record with `isApiErrorMessage:true`, `apiErrorStatus`
  (absent for connection errors, which carry `apiError:"connection_failed"`), model
  `<synthetic>`, and the error text as its text block.
- `{"type":"system","subtype":"api_error","source":"request_retry",…}` — a retry notice,
  not the end of the turn.
- `{"type":"system","subtype":"turn_duration",…}` — written after each completed turn
  (interactive mode only; absent when the turn ended in an API error).

Anything else (attachments, api-request, queue-operation, …) is skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laneboard.core.http_status import HINTS, kind_for_status
from laneboard.core.vocabulary import ErrorKind
from laneboard.errors import ProviderError
from laneboard.harnesses.base import Usage

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")
_STATUS_IN_TEXT = re.compile(r"(?:API Error: |\()([1-5]\d\d)\b")
_UNREACHABLE_MARKERS = (
    "ECONNREFUSED",
    "Connection refused",
    "connection_failed",
    "ENOTFOUND",
    "ETIMEDOUT",
    "Connection error",
    "Unable to connect",
)


def project_dir_name(cwd: str) -> str:
    """The directory name Claude Code gives a working directory under `projects/`."""
    return _NON_ALNUM.sub("-", cwd)


def transcript_path(config_dir: Path, cwd: str, session_id: str) -> Path:
    """Where the transcript of `session_id` started in `cwd` is (or will be) written.

    When the computed directory does not exist (the CLI resolved a symlink, or shortened a
    very long path) any `projects/*/<session_id>.jsonl` is used instead: the id is unique.
    """
    direct = config_dir / "projects" / project_dir_name(cwd) / f"{session_id}.jsonl"
    if direct.exists():
        return direct
    for candidate in (config_dir / "projects").glob(f"*/{session_id}.jsonl"):
        return candidate
    return direct


def error_kind(status: int | None, text: str = "") -> ErrorKind:
    """Map an HTTP status (or, without one, the error text) to a ProviderError kind."""
    if status is None:
        m = _STATUS_IN_TEXT.search(text)
        if m:
            status = int(m.group(1))
    if status is not None:
        return kind_for_status(status)
    if any(marker in text for marker in _UNREACHABLE_MARKERS):
        return "unreachable"
    if "authenticate" in text.lower():
        return "auth"
    return "server"


def status_from_text(text: str) -> int | None:
    """The HTTP status an `API Error: …` text names, if any."""
    m = _STATUS_IN_TEXT.search(text)
    return int(m.group(1)) if m else None


def provider_error(text: str, status: int | None, where: str) -> ProviderError:
    """A ProviderError whose message says what failed, where, and what to try."""
    kind = error_kind(status, text)
    status = status if status is not None else status_from_text(text)
    return ProviderError(f"{where}: {text.strip()} ({HINTS[kind]})", kind=kind, status=status)


def usage_from(raw: dict[str, Any] | None, cost: float | None = None) -> Usage:
    """A Usage from an Anthropic `usage` object (cache reads count as cached input)."""
    raw = raw or {}
    cached = int(raw.get("cache_read_input_tokens") or 0)
    created = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + cached + created,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=cached,
        cost_usd=cost,
    )


def _text_blocks(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        ]
    return []


def _is_prompt_record(rec: dict[str, Any]) -> bool:
    """A user record that carries a typed prompt (not tool results or interrupt notes)."""
    if rec.get("type") != "user" or rec.get("isMeta"):
        return False
    content = (rec.get("message") or {}).get("content")
    if isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    ):
        return False
    texts = _text_blocks(content)
    return bool(texts) and not all(t.startswith("[Request interrupted") for t in texts)


@dataclass
class ToolCall:
    """A tool_use block the model produced (name and input as sent)."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass
class TurnView:
    """What the transcript says about one turn, built record by record with `add`.

    Only records after the prompt count; `prompt_seen` turns true at the prompt's user
    record. `finished` is set by `turn_duration`; `api_error`/`api_status` by an
    assistant API-error record (which also ends the turn: no `turn_duration` follows).
    `pending` are the tool calls without a result yet: what a permission dialog is about.
    """

    prompt_seen: bool = False
    prompt_text: str = ""
    texts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    finished: bool = False
    api_error: str | None = None
    api_status: int | None = None
    model: str | None = None
    retries: int = 0
    _usage_by_msg: dict[str, Usage] = field(default_factory=dict)
    _answered: set[str] = field(default_factory=set)

    @property
    def pending(self) -> list[ToolCall]:
        """Tool calls whose result is not in the transcript yet (newest last)."""
        return [c for c in self.tool_calls if c.id not in self._answered]

    def add(self, rec: dict[str, Any]) -> None:
        kind = rec.get("type")
        if not self.prompt_seen:
            if _is_prompt_record(rec):
                self.prompt_seen = True
                self.prompt_text = "\n".join(_text_blocks(rec["message"].get("content")))
            return
        if kind == "assistant":
            self._add_assistant(rec)
        elif kind == "user":
            content = (rec.get("message") or {}).get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    self._answered.add(str(block.get("tool_use_id", "")))
        elif kind == "system":
            sub = rec.get("subtype")
            if sub == "turn_duration":
                self.finished = True
            elif sub == "api_error":
                self.retries += 1

    def _add_assistant(self, rec: dict[str, Any]) -> None:
        msg = rec.get("message") or {}
        if rec.get("isApiErrorMessage"):
            self.api_error = "\n".join(_text_blocks(msg.get("content"))) or str(
                rec.get("error") or "API error"
            )
            status = rec.get("apiErrorStatus")
            self.api_status = int(status) if isinstance(status, int) else None
            if rec.get("apiError") == "connection_failed" and "ECONNREFUSED" not in self.api_error:
                self.api_error += " (connection_failed)"
            return
        if msg.get("model") and msg.get("model") != "<synthetic>":
            self.model = str(msg["model"])
        for block in msg.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and block.get("text"):
                self.texts.append(str(block["text"]))
            elif block.get("type") == "tool_use":
                self.tool_calls.append(
                    ToolCall(
                        str(block.get("id", "")),
                        str(block.get("name", "")),
                        dict(block.get("input") or {}),
                    )
                )
        mid = str(msg.get("id") or rec.get("uuid") or len(self._usage_by_msg))
        if isinstance(msg.get("usage"), dict):
            self._usage_by_msg[mid] = usage_from(msg["usage"])

    @property
    def reply(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for u in self._usage_by_msg.values():
            total.add(u)
        return total

    @property
    def failed(self) -> bool:
        return self.api_error is not None


# --- headless stream-json -------------------------------------------------------------


@dataclass
class HeadlessResult:
    """The `result` line of a `claude -p --output-format stream-json` run."""

    text: str
    is_error: bool
    api_error_status: int | None
    usage: Usage
    session_id: str | None = None
    terminal_reason: str | None = None
    permission_denials: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None


def parse_result(obj: dict[str, Any]) -> HeadlessResult:
    """Read the final `result` object; on API errors `subtype` is still "success"."""
    cost = obj.get("total_cost_usd")
    model_usage = obj.get("modelUsage") or {}
    model = next(iter(model_usage), None) if isinstance(model_usage, dict) else None
    status = obj.get("api_error_status")
    return HeadlessResult(
        text=str(obj.get("result") or ""),
        is_error=bool(obj.get("is_error")),
        api_error_status=int(status) if isinstance(status, int) else None,
        usage=usage_from(obj.get("usage"), float(cost) if cost is not None else None),
        session_id=obj.get("session_id"),
        terminal_reason=obj.get("terminal_reason"),
        permission_denials=list(obj.get("permission_denials") or []),
        model=model,
    )


@dataclass(frozen=True)
class StreamNote:
    """One stream-json line turned into something a harness reports.

    `kind`: delta (streamed text, with `--include-partial-messages`), text (a complete
    assistant text block), tool (a tool_use, `text` is its name), denied (a
    permission denial), retry (an API retry notice), fallback (model fallback), info,
    init, result, api-error (the synthetic assistant error message).
    """

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def parse_stream_line(line: str) -> list[StreamNote]:
    """Turn one stream-json line into notes; unknown or broken lines give none."""
    try:
        obj = json.loads(line)
    except ValueError:
        return []
    if not isinstance(obj, dict):
        return []
    kind, sub = obj.get("type"), obj.get("subtype")
    if kind == "result":
        return [StreamNote("result", str(obj.get("result") or ""), obj)]
    if kind == "stream_event":
        event = obj.get("event") or {}
        delta = event.get("delta") if isinstance(event, dict) else None
        if isinstance(delta, dict) and delta.get("type") == "text_delta":
            return [StreamNote("delta", str(delta.get("text") or ""))]
        return []
    if kind == "assistant":
        msg = obj.get("message") or {}
        if obj.get("is_api_error_message") or obj.get("error"):
            return [StreamNote("api-error", "\n".join(_text_blocks(msg.get("content"))), obj)]
        notes = []
        for block in msg.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "text":
                notes.append(StreamNote("text", str(block.get("text", ""))))
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                notes.append(StreamNote("tool", str(block.get("name", "")), block))
        return notes
    if kind == "system":
        mapping = {
            "init": "init",
            "permission_denied": "denied",
            "api_retry": "retry",
            "model_fallback": "fallback",
            "informational": "info",
        }
        if sub in mapping:
            text = str(obj.get("message") or obj.get("content") or obj.get("tool_name") or "")
            return [StreamNote(mapping[str(sub)], text, obj)]
    return []


_PASTED = re.compile(
    r'\A\s*<pasted_content id="([^"]*)">\n(.*)\n</pasted_content id="\1">\s*\Z', re.S
)


def unwrap_pasted(text: str) -> str:
    """The prompt inside Claude Code's `<pasted_content id="…">` wrapper (a multi-line paste
    reaches the model and the transcript wrapped like that); other text unchanged."""
    m = _PASTED.match(text)
    return m.group(2) if m else text
