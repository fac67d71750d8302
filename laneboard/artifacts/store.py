"""Write captured turns to disk as Markdown artifacts, atomically and privately.

Layout: `<root>/<YYYY-MM-DD>/<HHMMSS>-<shortid>-<kind>-<slug>.md` (UTC), so `ls` sorts
artifacts by time and the name says what each one is. The file format is in `model.py`.

Why each step of a write is there:

- prompt and answer are ANSI-stripped and redacted *before* anything touches the disk,
  and so are the error, title and every string in route/git/extra/usage: a secret must
  not reach an artifact by any field;
- the text goes to a dot-prefixed temporary file in the destination folder (same file
  system, so the rename is atomic), is flushed and fsynced, then renamed over the final
  name, and the folder is fsynced so the rename itself survives a power cut. A crash at
  any point leaves no file or a whole file; readers skip dot-files, and `cleanup_temp`
  removes the leftovers of dead writers;
- files are created 0600 and folders 0700 (the root included): artifacts hold diffs and
  answers that can be private even after redaction;
- the index is updated after the rename and its failure is only logged: the files are the
  truth and the index heals itself from them (see `index.py`).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from laneboard.artifacts.index import ArtifactIndex, ArtifactSummary, SearchHit
from laneboard.artifacts.model import (
    DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_MAX_PROMPT_BYTES,
    SCHEMA_VERSION,
    Artifact,
    ArtifactRecord,
    bound,
    iso,
    iter_artifact_paths,
    load_file,
    parse,
    plain,
    render,
    sha256_text,
    slugify,
    to_datetime,
)
from laneboard.artifacts.redact import Redactor
from laneboard.core.procs import pid_alive
from laneboard.core.terminal_text import strip_ansi
from laneboard.errors import ArtifactError

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")
_async_fsync = aiofiles.os.wrap(os.fsync)


@dataclass(frozen=True)
class PreparedArtifact:
    """A record turned into the exact bytes to write and where they go."""

    id: str
    directory: Path
    name: str
    data: bytes


class ArtifactStore:
    """The artifacts under `root` (created on first write, 0700).

    `index=False` skips the SQLite index (list/search then raise); `redactor` adds known
    secret values to the built-in patterns; `max_prompt_bytes` / `max_answer_bytes` bound
    what is kept of each (the prompt's digest and size always describe all of it).
    """

    def __init__(
        self,
        root: Path | str,
        *,
        index: bool = True,
        redactor: Redactor | None = None,
        max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.root = Path(root)
        self.redactor = redactor or Redactor()
        self.max_prompt_bytes = max_prompt_bytes
        self.max_answer_bytes = max_answer_bytes
        self._index = ArtifactIndex(self.root) if index else None

    @property
    def index(self) -> ArtifactIndex:
        if self._index is None:
            raise ArtifactError("This artifact store was opened without an index.")
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    # ------------------------------------------------------------------ preparing

    def prepare(
        self, record: ArtifactRecord, *, now: dt.datetime | None = None
    ) -> PreparedArtifact:
        """Redact, strip, bound and render `record` (pure apart from reading the clock)."""
        now = to_datetime(now) or dt.datetime.now(dt.UTC)
        started = to_datetime(record.started) or now
        finished = to_datetime(record.finished) or now
        counts: Counter[str] = Counter()

        def red(text: str) -> str:
            result = self.redactor.redact(text)
            counts.update(result.kinds)
            return result.text

        # The prompt is redacted as sent (its digest then equals the digest of what a lane
        # received, since callers redact before sending and redaction is idempotent) and
        # stripped only for display.
        prompt = red(record.prompt)
        # Secrets the supervisor (or the review) replaced before sending are counted too:
        # the prompt arrives here already redacted, and "redactions" is what was removed.
        sent = record.extra.get("prompt_redaction_kinds") if record.extra else None
        if isinstance(sent, Mapping):
            counts.update({str(k): int(v) for k, v in sent.items() if isinstance(v, int)})
        prompt_sha, prompt_bytes = sha256_text(prompt), len(prompt.encode("utf-8"))
        prompt_body, prompt_cut = bound(strip_ansi(prompt), self.max_prompt_bytes, "prompt")
        answer = red(strip_ansi(record.answer))
        answer_body, answer_cut = bound(answer, self.max_answer_bytes, "answer")

        title = record.title if record.title is not None else _first_line(prompt_body)
        title = red(" ".join(strip_ansi(title).split()))[:120]
        error = None if record.error is None else red(strip_ansi(record.error))
        route = _redact_tree(plain(record.route), red)
        usage = _redact_tree(plain(record.usage), red)
        git = _redact_tree(plain(record.git), red)
        extra = _redact_tree(plain(dict(record.extra)), red)

        meta: dict[str, Any] = {
            "id": record.id,
            "kind": record.kind,
            "lane": record.lane,
            "harness": record.harness,
            "model": record.model,
            "state": record.state,
            "title": title,
            "started": iso(started),
            "finished": iso(finished),
            "duration_s": round(max(0.0, (finished - started).total_seconds()), 3),
            "route": route,
            "prompt_sha256": prompt_sha,
            "prompt_bytes": prompt_bytes,
            "prompt_truncated": prompt_cut,
            "answer_bytes": len(answer.encode("utf-8")),
            "answer_truncated": answer_cut,
            "answer_sha256": sha256_text(answer_body),
            "usage": usage,
            "redactions": sum(counts.values()),
            "redaction_kinds": dict(sorted(counts.items())),
            "git": git,
            "error": error,
            "extra": extra,
            "schema": SCHEMA_VERSION,
        }
        slug = slugify(title)
        name = f"{started:%H%M%S}-{record.id[:8]}-{record.kind}" + (f"-{slug}" if slug else "")
        return PreparedArtifact(
            id=record.id,
            directory=self.root / f"{started:%Y-%m-%d}",
            name=name + ".md",
            data=render(meta, prompt_body, answer_body).encode("utf-8"),
        )

    # ------------------------------------------------------------------ writing

    def write_sync(self, record: ArtifactRecord) -> Artifact:
        """Write `record` atomically and index it; returns the artifact as stored."""
        prepared = self.prepare(record)
        final = prepared.directory / prepared.name
        temp = self._ensure_dirs(prepared)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            try:
                os.fchmod(fd, FILE_MODE)
                view = memoryview(prepared.data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, final)
            _fsync_dir(prepared.directory)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise _write_error(final, e) from e
        artifact = parse(prepared.data.decode("utf-8"), final)
        self._index_add(artifact)
        return artifact

    async def write(self, record: ArtifactRecord) -> Artifact:
        """`write_sync` for the event loop: file I/O through aiofiles; redaction (CPU-bound
        on a large answer) and the index update run in a thread so the loop stays free."""
        return await self.write_prepared(await asyncio.to_thread(self.prepare, record))

    async def write_prepared(self, prepared: PreparedArtifact) -> Artifact:
        """The writing half of `write`, for a caller that must name the file (its
        `directory / name`) before the slow part — fsyncs, the index — is done: the
        conductor replies with a hop's artifact path first and writes it after."""
        final = prepared.directory / prepared.name
        temp = self._ensure_dirs(prepared)
        try:
            async with aiofiles.open(temp, "xb", opener=_private_opener) as f:
                await f.write(prepared.data)
                await f.flush()
                await _async_fsync(f.fileno())
            await aiofiles.os.replace(temp, final)
            await asyncio.to_thread(_fsync_dir, prepared.directory)
        except OSError as e:
            with contextlib.suppress(OSError):
                await aiofiles.os.unlink(temp)
            raise _write_error(final, e) from e
        artifact = parse(prepared.data.decode("utf-8"), final)
        if self._index is not None:
            await asyncio.to_thread(self._index_add, artifact)
        return artifact

    def _ensure_dirs(self, prepared: PreparedArtifact) -> Path:
        """Create root and day folder 0700 (tightening them if they exist); name a temp file."""
        try:
            for d in (self.root, prepared.directory):
                d.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                if d.stat().st_mode & 0o777 != DIR_MODE:
                    os.chmod(d, DIR_MODE)
        except OSError as e:
            raise ArtifactError(
                f"Cannot create the artifact folder {prepared.directory}: {e.strerror}. "
                "Check `artifacts.dir` in config.yaml and that the folder is writable."
            ) from e
        return prepared.directory / f".{prepared.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"

    def _index_add(self, artifact: Artifact) -> None:
        if self._index is None:
            return
        try:
            self._index.add(artifact)
        except ArtifactError as e:
            log.warning(
                "artifact stored but not indexed; the index will catch up",
                extra={"path": str(artifact.path), "error": str(e)},
            )

    # ------------------------------------------------------------------ reading

    def iter_paths(self) -> Iterator[Path]:
        """Every artifact file, oldest first (temp files skipped)."""
        return iter_artifact_paths(self.root)

    def iter_all(self) -> Iterator[Artifact]:
        """Every readable artifact, oldest first; unreadable files are logged and skipped."""
        for path in self.iter_paths():
            try:
                yield load_file(path)
            except ArtifactError as e:
                log.warning(
                    "skipping unreadable artifact", extra={"path": str(path), "error": str(e)}
                )

    def load(self, path: Path | str) -> Artifact:
        """Read the artifact file at `path`."""
        return load_file(Path(path))

    def read(self, artifact_id: str) -> Artifact:
        """The artifact whose id is exactly `artifact_id`."""
        for path in self._candidates(artifact_id):
            artifact = load_file(path)
            if artifact.id == artifact_id:
                return artifact
        raise self._not_found(artifact_id)

    def get(self, id_or_prefix: str) -> Artifact:
        """The artifact with this id, unique id prefix, or file path.

        Found by file name, not through the index, so it works even when the index is
        broken. Raises ArtifactError when nothing or more than one artifact matches.
        """
        key = id_or_prefix.strip()
        as_path = Path(key)
        if key.endswith(".md") and as_path.is_file():
            return load_file(as_path)
        if not re.fullmatch(r"[0-9a-fA-F]{1,64}", key):
            raise ArtifactError(
                f"{id_or_prefix!r} is not an artifact id (hex, as shown by "
                "`laneboard artifacts list`) or the path of an artifact file."
            )
        key = key.lower()
        matches: dict[str, Artifact] = {}
        for path in self._candidates(key):
            try:
                artifact = load_file(path)
            except ArtifactError:
                continue
            if artifact.id.startswith(key):
                matches[artifact.id] = artifact
        if not matches:
            raise self._not_found(key)
        if len(matches) > 1:
            ids = ", ".join(sorted(a.id for a in matches.values())[:5])
            raise ArtifactError(
                f"{key!r} matches {len(matches)} artifacts ({ids}); give more characters."
            )
        return next(iter(matches.values()))

    def _candidates(self, key: str) -> Iterator[Path]:
        """Files whose short id (in the name) is compatible with the id or prefix `key`."""
        short = key[:8]
        for path in self.iter_paths():
            parts = path.name.split("-", 2)
            if len(parts) >= 2 and parts[1].startswith(short):
                yield path

    def _not_found(self, key: str) -> ArtifactError:
        return ArtifactError(
            f"No artifact {key!r} in {self.root}. See the stored ones with "
            "`laneboard artifacts list`."
        )

    # ------------------------------------------------------------------ index shortcuts

    def list(
        self, lane: str | None = None, kind: str | None = None, limit: int | None = 50
    ) -> builtins.list[ArtifactSummary]:
        """Newest first; see `ArtifactIndex.list`.

        If the index cannot be opened at all (a read-only folder, say), the files are
        read directly: slower, but `laneboard artifacts list` keeps working.
        """
        if not self.root.is_dir():
            return []
        try:
            return self.index.list(lane=lane, kind=kind, limit=limit)
        except ArtifactError as e:
            if self._index is None:
                raise
            log.warning("artifact index unavailable, reading the files", extra={"error": str(e)})
        found = [
            _summary_of(a)
            for a in self.iter_all()
            if (lane is None or a.lane == lane) and (kind is None or a.kind == kind)
        ]
        found.sort(key=lambda s: (s.started or _EPOCH, s.id), reverse=True)
        return found if limit is None else found[:limit]

    def search(
        self, query: str, *, lane: str | None = None, kind: str | None = None, limit: int = 20
    ) -> builtins.list[SearchHit]:
        """Text search; see `ArtifactIndex.search`."""
        if not self.root.is_dir():
            return []
        return self.index.search(query, lane=lane, kind=kind, limit=limit)

    def rebuild_index(self) -> int:
        """Remove dead writers' temp files and rebuild the index; returns the artifact count."""
        if not self.root.is_dir():
            return 0
        self.cleanup_temp()
        return self.index.rebuild()

    # ------------------------------------------------------------------ maintenance

    def cleanup_temp(self, *, max_age_s: float = 3600.0) -> int:
        """Delete temp files of writers that died (or of any writer, after `max_age_s`)."""
        removed = 0
        now = time.time()
        for day in self.root.glob("????-??-??"):
            for path in day.glob(".*.tmp"):
                m = _TEMP.match(path.name)
                try:
                    stale = now - path.stat().st_mtime > max_age_s
                    if stale or (m is not None and not pid_alive(int(m.group("pid")))):
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _summary_of(a: Artifact) -> ArtifactSummary:
    return ArtifactSummary(
        id=a.id,
        kind=a.kind,
        lane=a.lane,
        harness=a.harness,
        model=a.model,
        state=a.state,
        title=a.title,
        started=a.started,
        finished=a.finished,
        redactions=a.redactions,
        path=a.path,
        meta=a.meta,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _redact_tree(value: Any, red: Callable[[str], str]) -> Any:
    """Redact every string inside plain data (keys included)."""
    if isinstance(value, str):
        return red(value)
    if isinstance(value, dict):
        return {red(k): _redact_tree(v, red) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, red) for v in value]
    return value


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(final: Path, e: OSError) -> ArtifactError:
    return ArtifactError(
        f"Cannot write the artifact {final}: {e.strerror or e}. Nothing was stored; check "
        "free space and permissions of the artifacts folder."
    )
