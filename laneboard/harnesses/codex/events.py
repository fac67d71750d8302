"""`codex exec --json` events and Codex rollout files, pinned to codex-cli 0.169.0.

Every rule about Codex's machine-readable output lives here
(see ../shared/reference/harness-codex.md, sections 3, 5 and 6).

exec `--json` (JSONL on stdout):

- `thread.started{thread_id}`, `turn.started`, `turn.completed{usage}` (summed over all
  model calls of the turn; no cost field), `turn.failed{error.message}` — the only fatal one.
- `error{message}` is a retry notice ("Reconnecting... 1/5 (…)"), not fatal. With an
  unreachable endpoint exec emits "Reconnecting... waiting for network (Connection
  failed: …)" forever and never exits: the harness's own timeout ends it.
- `item.started|updated|completed{item}` with item types agent_message{text},
  reasoning{text}, command_execution{command,aggregated_output,exit_code,status},
  file_change{changes[{path,kind}],status}, error{message}; others are ignored.

Rollout (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<stamp>-<thread id>.jsonl`), written by
interactive sessions and non-ephemeral execs: `event_msg` records whose payload `type` is
`task_started`, `task_complete{last_agent_message, error{message}}` (a failed turn ends
with `last_agent_message: null` and the error), `token_count{info}`, `error{message}` and
`stream_error{message}` (a retry notice).
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

_STATUS_RE = re.compile(r"(?:unexpected status|last status:?)\s+(\d{3})")
_UNREACHABLE = (
    "waiting for network",
    "Connection failed",
    "error sending request",
    "Connection refused",
    "dns error",
)


def usage_from(raw: dict[str, Any] | None) -> Usage:
    """A Usage from a `turn.completed.usage` (or rollout token usage) object."""
    raw = raw or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=int(raw.get("cached_input_tokens") or 0),
    )


def error_kind(message: str) -> tuple[ErrorKind, int | None]:
    """Map a Codex failure message to a ProviderError kind and, if named, the status."""
    m = _STATUS_RE.search(message)
    status = int(m.group(1)) if m else None
    if status is not None:
        return kind_for_status(status), status
    if "Quota exceeded" in message or "rate limit" in message.lower():
        return "rate-limit", 429
    if "Missing environment variable" in message:
        return "auth", None
    if any(marker in message for marker in _UNREACHABLE):
        return "unreachable", None
    if "invalid_request" in message:
        return "bad-request", 400
    return "server", None


def provider_error(message: str, where: str) -> ProviderError:
    """A ProviderError whose message says what failed, where, and what to try."""
    kind, status = error_kind(message)
    return ProviderError(f"{where}: {message.strip()} ({HINTS[kind]})", kind=kind, status=status)


@dataclass(frozen=True)
class CommandRun:
    """A shell command Codex ran (exit_code None while it runs)."""

    command: str
    output: str
    exit_code: int | None


@dataclass(frozen=True)
class CodexNote:
    """One exec event turned into something a harness reports.

    `kind`: message (agent_message text), reasoning, command (a finished command),
    file-change (text lists `kind path` pairs), notice (a retry `error` event), item-error,
    usage, failed (turn.failed), thread.
    """

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecOutcome:
    """Everything one `codex exec --json` run reported, built line by line with `feed`."""

    thread_id: str | None = None
    messages: list[str] = field(default_factory=list)
    commands: list[CommandRun] = field(default_factory=list)
    file_changes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    item_errors: list[str] = field(default_factory=list)
    usage: Usage | None = None
    failure: str | None = None
    completed: bool = False
    turn_started: bool = False

    def feed(self, line: str) -> list[CodexNote]:
        """Read one stdout line; non-JSON lines and unknown events give no notes."""
        try:
            ev = json.loads(line)
        except ValueError:
            return []
        if not isinstance(ev, dict):
            return []
        kind = ev.get("type")
        if kind == "thread.started":
            self.thread_id = str(ev.get("thread_id") or "") or None
            return [CodexNote("thread", self.thread_id or "")]
        if kind == "turn.started":
            self.turn_started = True
            return []
        if kind == "turn.completed":
            self.completed = True
            self.usage = usage_from(ev.get("usage"))
            return [CodexNote("usage", data=dict(ev.get("usage") or {}))]
        if kind == "turn.failed":
            err = ev.get("error") or {}
            self.failure = str(err.get("message") if isinstance(err, dict) else err)
            return [CodexNote("failed", self.failure)]
        if kind == "error":
            msg = str(ev.get("message") or "")
            self.notices.append(msg)
            return [CodexNote("notice", msg)]
        if kind == "item.completed":
            return self._item(ev.get("item") or {})
        return []

    def _item(self, item: dict[str, Any]) -> list[CodexNote]:
        itype = item.get("type")
        if itype == "agent_message":
            text = str(item.get("text") or "")
            self.messages.append(text)
            return [CodexNote("message", text)]
        if itype == "reasoning":
            return [CodexNote("reasoning", str(item.get("text") or ""))]
        if itype == "command_execution":
            code = item.get("exit_code")
            run = CommandRun(
                str(item.get("command") or ""),
                str(item.get("aggregated_output") or ""),
                int(code) if isinstance(code, int) else None,
            )
            self.commands.append(run)
            return [CodexNote("command", run.command, item)]
        if itype == "file_change":
            changes = [
                f"{c.get('kind')} {c.get('path')}"
                for c in item.get("changes") or []
                if isinstance(c, dict)
            ]
            self.file_changes.extend(changes)
            return [CodexNote("file-change", "\n".join(changes), item)]
        if itype == "error":
            msg = str(item.get("message") or "")
            self.item_errors.append(msg)
            return [CodexNote("item-error", msg)]
        return []

    @property
    def final_message(self) -> str:
        return self.messages[-1] if self.messages else ""

    @property
    def only_reconnects(self) -> bool:
        """True when nothing but reconnect notices arrived: the endpoint is unreachable."""
        return (
            not self.completed
            and self.failure is None
            and not self.messages
            and bool(self.notices)
            and all(error_kind(n)[0] == "unreachable" for n in self.notices)
        )


# --- rollout files (interactive mode) ------------------------------------------------


def find_rollout(
    codex_home: Path, thread_id: str | None = None, newer_than: float = 0.0
) -> Path | None:
    """The rollout file of `thread_id`, or the newest one modified after `newer_than`."""
    sessions = codex_home / "sessions"
    if not sessions.is_dir():
        return None
    pattern = f"**/rollout-*{thread_id}.jsonl" if thread_id else "**/rollout-*.jsonl"
    found = [p for p in sessions.glob(pattern) if p.stat().st_mtime >= newer_than]
    if not found:
        return None
    return max(found, key=lambda p: p.stat().st_mtime)


@dataclass
class RolloutTurn:
    """One interactive turn as the rollout file tells it, built with `add`.

    `started` at `task_started`; `complete` at `task_complete`; `aborted` is the reason of
    a `turn_aborted` (e.g. "interrupted": Escape). Between the first and one of the others
    the turn runs, whatever the screen shows (Codex hides its busy line while it streams).
    """

    started: bool = False
    complete: bool = False
    aborted: str | None = None
    last_message: str | None = None
    error: str | None = None
    usage: Usage | None = None
    notices: list[str] = field(default_factory=list)

    def add(self, rec: dict[str, Any]) -> None:
        if rec.get("type") != "event_msg":
            return
        payload = rec.get("payload") or {}
        ptype = payload.get("type")
        if ptype == "task_started":
            self.started = True
        elif ptype == "task_complete":
            self.complete = True
            msg = payload.get("last_agent_message")
            self.last_message = str(msg) if msg is not None else None
            err = payload.get("error")
            if isinstance(err, dict) and err.get("message"):
                self.error = str(err["message"])
        elif ptype == "turn_aborted":
            self.aborted = str(payload.get("reason") or "aborted")
        elif ptype == "error":
            self.error = str(payload.get("message") or "error")
        elif ptype == "stream_error":
            self.notices.append(str(payload.get("message") or ""))
        elif ptype == "token_count":
            info = payload.get("info") or {}
            last = info.get("last_token_usage") if isinstance(info, dict) else None
            if isinstance(last, dict):
                turn = usage_from(last)
                if self.usage is None:
                    self.usage = turn
                else:
                    self.usage.add(turn)
