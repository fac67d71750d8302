"""What an artifact is, and how it looks on disk.

Two shapes, on purpose: `ArtifactRecord` is what a caller hands the store (raw prompt and
answer, secrets and ANSI codes possibly included, timestamps in any form), `Artifact` is
what comes back from a file (redacted, plain text, front matter already parsed). Keeping
them apart means nothing read from disk can be mistaken for unredacted input.

The file format (one Markdown file per turn) is owned by `render` and `parse` here, so the
store, which writes, and the index, which reads, agree on it:

    ---
    <YAML front matter: id, kind, lane, ... see FRONT_MATTER_KEYS>
    ---

    # <kind>: <title>

    ## Prompt

    ````text
    <prompt, redacted, ANSI stripped, bounded>
    ````

    ## Answer

    <answer, redacted, ANSI stripped, bounded>

The prompt is fenced with more backticks than any run inside it, so a diff that contains
code fences cannot end the block early; the answer is left as Markdown because reviewers
answer in Markdown. `parse` relies on that fence to split the two exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast, get_args, runtime_checkable

import yaml

from laneboard.errors import ArtifactError

ArtifactKind = Literal["review", "turn", "commit-message", "triage"]
ArtifactState = Literal["done", "failed", "timed-out", "interrupted"]
KINDS: tuple[str, ...] = get_args(ArtifactKind)
STATES: tuple[str, ...] = get_args(ArtifactState)

DEFAULT_MAX_PROMPT_BYTES = 20 * 1024
DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024
SCHEMA_VERSION = 1

FRONT_MATTER_KEYS: tuple[str, ...] = (
    "id",
    "kind",
    "lane",
    "harness",
    "model",
    "state",
    "title",
    "started",
    "finished",
    "duration_s",
    "route",
    "prompt_sha256",
    "prompt_bytes",
    "prompt_truncated",
    "answer_bytes",
    "answer_truncated",
    "answer_sha256",
    "usage",
    "redactions",
    "redaction_kinds",
    "git",
    "error",
    "extra",
    "schema",
)


@runtime_checkable
class UsageLike(Protocol):
    """Anything with `as_dict()`, such as `laneboard.harnesses.base.Usage`.

    A protocol rather than an import: artifacts may not import harnesses.
    """

    def as_dict(self) -> dict[str, object]: ...


class TurnLike(Protocol):
    """The fields of `laneboard.harnesses.base.TurnResult` that `from_turn` reads.

    Read-only properties, so that a narrower type (`state: Literal[...]`) still matches.
    """

    @property
    def reply(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def usage(self) -> Any: ...
    @property
    def error(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def started(self) -> float: ...
    @property
    def finished(self) -> float: ...
    @property
    def extra(self) -> Mapping[str, object]: ...


Timestamp = dt.datetime | float | int | None


def new_id() -> str:
    """A fresh artifact id: 16 hex characters, the first 8 of which go into the file name."""
    return secrets.token_hex(8)


@dataclass
class ArtifactRecord:
    """One captured turn, as handed to `ArtifactStore.write`.

    `prompt` and `answer` are raw: the store strips ANSI, redacts and bounds them. `started`
    and `finished` accept aware datetimes or epoch seconds (naive datetimes are taken as
    UTC); `finished` defaults to the moment of writing. `route` is the route decision as a
    mapping (lane, rule, reason, fence, escalate, triage); `git` holds base, head and
    tree_unchanged for reviews. `title` names the file (its slug) and the heading; it
    defaults to the prompt's first line. `extra` is free-form and kept as given.
    """

    kind: ArtifactKind
    lane: str
    prompt: str
    answer: str
    harness: str = ""
    model: str | None = None
    state: ArtifactState = "done"
    route: Mapping[str, Any] | None = None
    started: Timestamp = None
    finished: Timestamp = None
    usage: Mapping[str, Any] | UsageLike | None = None
    git: Mapping[str, Any] | None = None
    error: str | None = None
    title: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ArtifactError(
                f"Unknown artifact kind {self.kind!r}; expected one of {', '.join(KINDS)}."
            )
        if self.state not in STATES:
            raise ArtifactError(
                f"Unknown artifact state {self.state!r}; expected one of {', '.join(STATES)}."
            )
        if not re.fullmatch(r"[0-9a-f]{8,64}", self.id):
            raise ArtifactError(f"Artifact id {self.id!r} is not 8-64 lower-case hex characters.")

    @classmethod
    def from_turn(
        cls,
        turn: TurnLike,
        *,
        kind: ArtifactKind,
        lane: str,
        prompt: str,
        harness: str = "",
        model: str | None = None,
        route: Mapping[str, Any] | None = None,
        git: Mapping[str, Any] | None = None,
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ArtifactRecord:
        """Build a record from a harness `TurnResult` (structurally; no import needed)."""
        state = turn.state if turn.state in STATES else "failed"
        merged: dict[str, Any] = dict(turn.extra)
        merged.update(extra or {})
        return cls(
            kind=kind,
            lane=lane,
            prompt=prompt,
            answer=turn.reply,
            harness=harness,
            model=turn.model or model,
            state=cast(ArtifactState, state),
            route=route,
            started=turn.started,
            finished=turn.finished,
            usage=turn.usage if isinstance(turn.usage, (Mapping, UsageLike)) else None,
            git=git,
            error=turn.error,
            title=title,
            extra=merged,
        )


@dataclass(frozen=True)
class Artifact:
    """An artifact read back from its file. `meta` is the whole front matter as parsed."""

    id: str
    kind: str
    lane: str
    harness: str
    model: str | None
    state: str
    title: str
    started: dt.datetime | None
    finished: dt.datetime | None
    route: dict[str, Any] | None
    prompt_sha256: str
    prompt_bytes: int
    usage: dict[str, Any] | None
    redactions: int
    git: dict[str, Any] | None
    error: str | None
    extra: dict[str, Any]
    prompt: str
    answer: str
    path: Path
    meta: dict[str, Any]
    complete: bool = True
    """False when the answer does not match `answer_sha256` (a cut or edited file)."""

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def as_dict(self, *, body: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (for `--json`): the front matter, the path, and the body."""
        out: dict[str, Any] = dict(self.meta)
        out["path"] = str(self.path)
        if body:
            out["prompt"] = self.prompt
            out["answer"] = self.answer
        return out


# ---------------------------------------------------------------------------- helpers


def to_datetime(value: Timestamp | str) -> dt.datetime | None:
    """An aware UTC datetime from a datetime, epoch seconds or ISO 8601 text."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset, to the microsecond (so artifacts sort exactly)."""
    return None if value is None else value.isoformat(timespec="microseconds")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slugify(text: str, *, max_len: int = 48) -> str:
    """A lower-case ASCII slug for file names: words joined by `-`, cut at a word."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for w in words:
        candidate = f"{slug}-{w}" if slug else w
        if len(candidate) > max_len:
            break
        slug = candidate
    return slug or (words[0][:max_len] if words else "")


def bound(text: str, max_bytes: int, what: str) -> tuple[str, bool]:
    """Cut `text` to about `max_bytes` UTF-8 bytes, keeping head and tail, saying what went.

    The head (three quarters) carries the instructions and the start of the diff, the tail
    (a quarter) the end of a log, where errors usually are. Cuts fall on line breaks when
    one is near, so a diff line is not split in half.
    """
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, False
    head_budget = max_bytes * 3 // 4
    tail_budget = max_bytes - head_budget
    head = data[:head_budget].decode("utf-8", errors="ignore")
    nl = head.rfind("\n")
    if nl >= len(head) // 2:
        head = head[: nl + 1]
    tail = data[len(data) - tail_budget :].decode("utf-8", errors="ignore")
    nl = tail.find("\n")
    if 0 <= nl < len(tail) // 2:
        tail = tail[nl + 1 :]
    kept = len(head.encode("utf-8")) + len(tail.encode("utf-8"))
    note = (
        f"\n[... {what} cut: {len(data) - kept:,} of {len(data):,} bytes omitted "
        f"here (kept the first {len(head.encode('utf-8')):,} and the last "
        f"{len(tail.encode('utf-8')):,}) ...]\n"
    )
    if not head.endswith("\n"):
        note = "\n" + note.lstrip("\n")
    return head + note + tail, True


def plain(value: Any) -> Any:
    """Turn `value` into YAML/JSON-safe data: mappings, lists, str, int, float, bool, None.

    Route decisions and usage come from other layers as dataclasses, enums or paths; the
    front matter must stay loadable by `yaml.safe_load` anywhere, so anything unusual is
    converted (dataclasses to dicts, datetimes to ISO text) or, failing that, stringified.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return iso(to_datetime(value))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, UsageLike):
        return plain(value.as_dict())
    if isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, (bytes, bytearray)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, (str, int)):
        return enum_value
    return str(value)


def _fence_for(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(4, longest + 1)


# ---------------------------------------------------------------------------- format


def render(meta: Mapping[str, Any], prompt: str, answer: str) -> str:
    """The whole file text for an artifact whose front matter is `meta`."""
    front = yaml.safe_dump(
        dict(meta), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    fence = _fence_for(prompt)
    title = str(meta.get("title") or "")
    heading = f"# {meta.get('kind', 'artifact')}: {title}" if title else f"# {meta.get('kind')}"
    # One newline is always added after the prompt and removed by `parse`, so the prompt
    # round-trips exactly whether or not it ends with a newline.
    return (
        f"---\n{front}---\n\n{heading}\n\n## Prompt\n\n{fence}text\n{prompt}\n{fence}\n\n"
        f"## Answer\n\n{answer}\n"
    )


_PROMPT_OPEN = re.compile(r"^## Prompt\n\n(?P<fence>`{4,})text\n", re.MULTILINE)


def parse(text: str, path: Path) -> Artifact:
    """Read an artifact file's text; raise ArtifactError if it is not a whole artifact."""
    if not text.startswith("---\n"):
        raise ArtifactError(f"{path}: not an artifact (no YAML front matter at the top).")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise ArtifactError(f"{path}: the front matter is not closed by a `---` line.")
    try:
        meta = yaml.safe_load(text[4 : end + 1])
    except yaml.YAMLError as e:
        raise ArtifactError(f"{path}: the front matter is not valid YAML: {e}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
        raise ArtifactError(f"{path}: the front matter has no `id`.")
    body = text[end + 5 :]
    m = _PROMPT_OPEN.search(body)
    if m is None:
        raise ArtifactError(f"{path}: no `## Prompt` block in the body.")
    fence = m.group("fence")
    close = body.find(f"\n{fence}\n", m.end() - 1)
    if close < 0:
        raise ArtifactError(f"{path}: the prompt block is not closed; the file is incomplete.")
    prompt = body[m.end() : close]
    rest = body[close + len(fence) + 2 :]
    marker = "\n## Answer\n\n"
    if not rest.startswith(marker):
        raise ArtifactError(f"{path}: no `## Answer` section after the prompt.")
    answer = rest[len(marker) :]
    if not answer.endswith("\n"):
        raise ArtifactError(
            f"{path}: the answer does not end with a newline; the file is incomplete."
        )
    answer = answer[:-1]
    # A whole file's answer has the digest the front matter recorded; a difference means
    # the file was cut or edited by hand (still shown, but flagged).
    digest = meta.get("answer_sha256")
    complete = not isinstance(digest, str) or sha256_text(answer) == digest

    def dict_or_none(v: Any) -> dict[str, Any] | None:
        return dict(v) if isinstance(v, dict) else None

    return Artifact(
        id=meta["id"],
        kind=str(meta.get("kind", "")),
        lane=str(meta.get("lane", "")),
        harness=str(meta.get("harness") or ""),
        model=None if meta.get("model") is None else str(meta["model"]),
        state=str(meta.get("state", "")),
        title=str(meta.get("title") or ""),
        started=to_datetime(meta.get("started")),
        finished=to_datetime(meta.get("finished")),
        route=dict_or_none(meta.get("route")),
        prompt_sha256=str(meta.get("prompt_sha256", "")),
        prompt_bytes=int(meta.get("prompt_bytes") or 0),
        usage=dict_or_none(meta.get("usage")),
        redactions=int(meta.get("redactions") or 0),
        git=dict_or_none(meta.get("git")),
        error=None if meta.get("error") is None else str(meta["error"]),
        extra=dict_or_none(meta.get("extra")) or {},
        prompt=prompt,
        answer=answer,
        path=path,
        meta=meta,
        complete=complete,
    )


# ---------------------------------------------------------------------------- files

DAY_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")


def iter_artifact_paths(root: Path) -> Iterator[Path]:
    """Every artifact file under `root`, oldest first (day folders, then file names).

    Dot-files are skipped: they are a writer's temporary files, whole or not.
    """
    try:
        days = sorted(
            (d for d in os.scandir(root) if d.is_dir() and DAY_DIR.fullmatch(d.name)),
            key=lambda d: d.name,
        )
    except FileNotFoundError:
        return
    for day in days:
        try:
            names = sorted(
                e.name
                for e in os.scandir(day.path)
                if e.name.endswith(".md") and not e.name.startswith(".") and e.is_file()
            )
        except FileNotFoundError:
            continue
        for name in names:
            yield Path(day.path) / name


def load_file(path: Path) -> Artifact:
    """Read and parse one artifact file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"{path}: no such artifact file.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: cannot be read: {e}") from e
    return parse(text, path)
