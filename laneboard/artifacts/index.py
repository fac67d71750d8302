"""A disposable SQLite index over the artifact files, for listing and searching.

The Markdown files are the truth; the index (`<root>/.index.sqlite`, WAL mode) only makes
`list` and `search` fast. Because it can always be rebuilt from the files it is treated as
a cache:

- missing, corrupt, or written by another schema version -> deleted and rebuilt silently;
- out of date (a writer crashed between renaming its file and indexing it, a file was
  deleted or edited by hand) -> `refresh()`, run before every query, reconciles it with the
  files by name, size and mtime, which costs one directory scan;
- a failed index update never fails an artifact write.

Text search uses SQLite FTS5 when the interpreter's SQLite has it (bm25 ranking and
snippets), otherwise LIKE over the same columns. Semantic vectors live in the same file
(see `semantic.py`); the tables here never touch them except to drop vectors whose artifact
is gone.

Why this is long: schema, rebuild, the refresh that reconciles files with rows, and both
search paths (FTS5 and LIKE) share one connection discipline (WAL, busy timeout, "a
failed update never fails a write"); split, each part would have to re-state it. It is
533 lines, of which a third is SQL and its comments.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from laneboard.artifacts.model import Artifact, iter_artifact_paths, load_file, to_datetime
from laneboard.errors import ArtifactError

log = logging.getLogger(__name__)

INDEX_FILE = ".index.sqlite"
_SCHEMA = 1
_T = TypeVar("_T")


def fts5_available() -> bool:
    """Whether this interpreter's SQLite was built with FTS5."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as c:
            c.execute("CREATE VIRTUAL TABLE t USING fts5(a)")
        return True
    except sqlite3.Error:
        return False


@dataclass(frozen=True)
class ArtifactSummary:
    """One row of `list`/`search`: the front matter fields, without prompt and answer."""

    id: str
    kind: str
    lane: str
    harness: str
    model: str | None
    state: str
    title: str
    started: dt.datetime | None
    finished: dt.datetime | None
    redactions: int
    path: Path
    meta: dict[str, Any]

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the front matter plus the file path."""
        out = dict(self.meta)
        out["path"] = str(self.path)
        return out


@dataclass(frozen=True)
class SearchHit:
    """A text-search result: the artifact, a snippet around the match, and a rank score
    (higher is better; bm25-based with FTS5, 0 with the LIKE fallback)."""

    artifact: ArtifactSummary
    snippet: str
    score: float


def _is_corruption(e: sqlite3.Error) -> bool:
    """Errors that mean "throw the file away", as opposed to a busy database."""
    msg = str(e).lower()
    if "locked" in msg or "busy" in msg:
        return False
    return isinstance(e, sqlite3.DatabaseError)


class ArtifactIndex:
    """The index of the artifacts under `root` (see the module docstring)."""

    def __init__(self, root: Path, *, path: Path | None = None, fts: bool | None = None) -> None:
        self.root = Path(root)
        self.path = path or self.root / INDEX_FILE
        self.fts = fts5_available() if fts is None else fts
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._unreadable: dict[str, tuple[int, int]] = {}

    # ------------------------------------------------------------------ connection

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ArtifactIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> sqlite3.Connection:
        """Open (creating and filling if needed) the database; reset it if it is unusable."""
        if self._conn is not None:
            return self._conn
        if not self.root.is_dir():
            raise ArtifactError(
                f"The artifact folder {self.root} does not exist; nothing has been stored yet."
            )
        try:
            conn = self._connect()
        except sqlite3.Error as e:
            if not _is_corruption(e):
                raise ArtifactError(f"The artifact index {self.path} is unusable: {e}") from e
            log.warning(
                "artifact index unusable, rebuilding",
                extra={"path": str(self.path), "error": str(e)},
            )
            self._delete_files()
            try:
                conn = self._connect()
            except sqlite3.Error as e2:
                raise ArtifactError(
                    f"The artifact index {self.path} cannot be created: {e2}. Check that "
                    f"{self.root} is writable; the artifact files themselves are unaffected."
                ) from e2
        self._conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)  # the index holds prompts and answers too
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            wanted = _SCHEMA * 100 + int(self.fts)
            if version != wanted:
                self._create(conn, fresh=version != 0)
                conn.execute(f"PRAGMA user_version={wanted}")
                self._rebuild(conn)
            else:
                conn.execute("SELECT count(*) FROM artifacts").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def _create(self, conn: sqlite3.Connection, *, fresh: bool) -> None:
        if fresh:
            conn.executescript(
                "DROP TABLE IF EXISTS texts; DROP TABLE IF EXISTS artifacts;"
                "DROP TABLE IF EXISTS vectors; DROP TABLE IF EXISTS index_meta;"
            )
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS artifacts (
                rowid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL UNIQUE,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                kind TEXT, lane TEXT, harness TEXT, model TEXT, state TEXT, title TEXT,
                started_ts REAL, redactions INTEGER,
                meta TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS artifacts_started ON artifacts(started_ts DESC);
            CREATE INDEX IF NOT EXISTS artifacts_lane ON artifacts(lane, started_ts DESC);
            CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS vectors (
                id TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,
                norm REAL NOT NULL, vec BLOB NOT NULL
            );
            """
        )
        if self.fts:
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS texts USING "
                "fts5(title, prompt, answer, tokenize='unicode61 remove_diacritics 2')"
            )
        else:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS texts "
                "(rowid INTEGER PRIMARY KEY, title TEXT, prompt TEXT, answer TEXT)"
            )

    def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn` on the connection; on corruption, reset the index once and retry."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return fn(self._open())
                except sqlite3.Error as e:
                    if attempt == 2 or not _is_corruption(e):
                        raise ArtifactError(f"The artifact index {self.path} failed: {e}") from e
                    log.warning(
                        "artifact index corrupt, rebuilding",
                        extra={"path": str(self.path), "error": str(e)},
                    )
                    self.close()
                    self._delete_files()
            raise AssertionError("unreachable")

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The open connection, under this index's lock (for `semantic.py`)."""
        with self._lock:
            conn = self._open()
            try:
                yield conn
            except sqlite3.Error as e:
                raise ArtifactError(f"The artifact index {self.path} failed: {e}") from e

    # ------------------------------------------------------------------ writing

    def rebuild(self) -> int:
        """Re-read every artifact file into a fresh index; returns how many were indexed."""
        return self._run(self._rebuild)

    def _rebuild(self, conn: sqlite3.Connection) -> int:
        self._unreadable.clear()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM artifacts")
            conn.execute("DELETE FROM texts")
            n = 0
            for path in iter_artifact_paths(self.root):
                if self._add_path(conn, path):
                    n += 1
            conn.execute("DELETE FROM vectors WHERE id NOT IN (SELECT id FROM artifacts)")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return n

    def refresh(self) -> None:
        """Bring the index in line with the files: add new or changed ones, drop gone ones."""
        self._run(self._refresh)

    def _refresh(self, conn: sqlite3.Connection) -> None:
        on_disk: dict[str, tuple[Path, int, int]] = {}
        for path in iter_artifact_paths(self.root):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            on_disk[self._name(path)] = (path, st.st_size, st.st_mtime_ns)
        known = {
            r["name"]: (r["size"], r["mtime_ns"])
            for r in conn.execute("SELECT name, size, mtime_ns FROM artifacts")
        }
        gone = [n for n in known if n not in on_disk]
        todo = [
            path
            for name, (path, size, mtime) in on_disk.items()
            if known.get(name) != (size, mtime) and self._unreadable.get(name) != (size, mtime)
        ]
        if not gone and not todo:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in gone:
                self._delete(conn, "name", name)
            for path in todo:
                self._add_path(conn, path)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def add(self, artifact: Artifact) -> None:
        """Index one artifact just written (replacing any older row for the same id)."""

        def add(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._insert(conn, artifact)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._run(add)

    def _name(self, path: Path) -> str:
        return f"{path.parent.name}/{path.name}"

    def _add_path(self, conn: sqlite3.Connection, path: Path) -> bool:
        try:
            artifact = load_file(path)
        except (ArtifactError, OSError) as e:
            log.warning("artifact not indexed", extra={"path": str(path), "error": str(e)})
            with contextlib.suppress(OSError):
                st = path.stat()
                self._unreadable[self._name(path)] = (st.st_size, st.st_mtime_ns)
            return False
        self._insert(conn, artifact)
        return True

    def _delete(self, conn: sqlite3.Connection, column: str, value: str) -> None:
        for row in conn.execute(
            f"SELECT rowid FROM artifacts WHERE {column} = ?", (value,)
        ).fetchall():
            conn.execute("DELETE FROM texts WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM artifacts WHERE rowid = ?", (row[0],))

    def _insert(self, conn: sqlite3.Connection, a: Artifact) -> None:
        name = self._name(a.path)
        try:
            st = a.path.stat()
        except FileNotFoundError:
            return
        self._delete(conn, "id", a.id)
        self._delete(conn, "name", name)
        cur = conn.execute(
            "INSERT INTO artifacts (id, name, size, mtime_ns, kind, lane, harness, model, state,"
            " title, started_ts, redactions, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                a.id,
                name,
                st.st_size,
                st.st_mtime_ns,
                a.kind,
                a.lane,
                a.harness,
                a.model,
                a.state,
                a.title,
                a.started.timestamp() if a.started else 0.0,
                a.redactions,
                json.dumps(a.meta, default=str),
            ),
        )
        conn.execute(
            "INSERT INTO texts (rowid, title, prompt, answer) VALUES (?,?,?,?)",
            (cur.lastrowid, a.title, a.prompt, a.answer),
        )

    # ------------------------------------------------------------------ reading

    def _summary(self, row: sqlite3.Row) -> ArtifactSummary:
        meta: dict[str, Any] = json.loads(row["meta"])
        return ArtifactSummary(
            id=row["id"],
            kind=row["kind"] or "",
            lane=row["lane"] or "",
            harness=row["harness"] or "",
            model=row["model"],
            state=row["state"] or "",
            title=row["title"] or "",
            started=to_datetime(meta.get("started")),
            finished=to_datetime(meta.get("finished")),
            redactions=int(row["redactions"] or 0),
            path=self.root / row["name"],
            meta=meta,
        )

    @staticmethod
    def _filters(
        lane: str | None, kind: str | None, state: str | None
    ) -> tuple[str, builtins.list[Any]]:
        clauses, args = [], []
        for column, value in (("lane", lane), ("kind", kind), ("state", state)):
            if value is not None:
                clauses.append(f"a.{column} = ?")
                args.append(value)
        return "".join(f" AND {c}" for c in clauses), args

    def list(
        self,
        lane: str | None = None,
        kind: str | None = None,
        limit: int | None = 50,
        *,
        state: str | None = None,
    ) -> builtins.list[ArtifactSummary]:
        """Artifacts newest first (by start time), optionally of one lane, kind or state."""
        where, args = self._filters(lane, kind, state)
        sql = f"SELECT a.* FROM artifacts a WHERE 1=1{where} ORDER BY a.started_ts DESC, a.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))

        def query(conn: sqlite3.Connection) -> builtins.list[ArtifactSummary]:
            self._refresh(conn)
            return [self._summary(r) for r in conn.execute(sql, args)]

        return self._run(query)

    def count(self) -> int:
        """How many artifacts are indexed (after a refresh)."""

        def query(conn: sqlite3.Connection) -> int:
            self._refresh(conn)
            return int(conn.execute("SELECT count(*) FROM artifacts").fetchone()[0])

        return self._run(query)

    def search(
        self,
        query: str,
        *,
        lane: str | None = None,
        kind: str | None = None,
        limit: int = 20,
    ) -> builtins.list[SearchHit]:
        """Artifacts whose title, prompt or answer contain every word of `query`.

        Words are matched as phrases (quotes and FTS operators in `query` are taken
        literally), best match first with FTS5, newest first with the LIKE fallback.
        """
        terms = query.split()
        if not terms:
            return []
        where, args = self._filters(lane, kind, None)

        def run(conn: sqlite3.Connection) -> builtins.list[SearchHit]:
            self._refresh(conn)
            if self.fts:
                match = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
                rows = conn.execute(
                    "SELECT a.*, snippet(texts, -1, '[', ']', '…', 12) AS snip,"
                    " bm25(texts) AS rank FROM texts JOIN artifacts a ON a.rowid = texts.rowid"
                    f" WHERE texts MATCH ?{where} ORDER BY rank LIMIT ?",
                    [match, *args, limit],
                ).fetchall()
                return [
                    SearchHit(self._summary(r), " ".join(r["snip"].split()), -float(r["rank"]))
                    for r in rows
                ]
            likes = " AND ".join(
                "lower(t.title || ' ' || t.prompt || ' ' || t.answer) LIKE ? ESCAPE '\\'"
                for _ in terms
            )
            patterns = ["%" + re.sub(r"([%_\\])", r"\\\1", t.lower()) + "%" for t in terms]
            rows = conn.execute(
                "SELECT a.*, t.title AS t_title, t.prompt AS t_prompt, t.answer AS t_answer"
                f" FROM texts t JOIN artifacts a ON a.rowid = t.rowid WHERE {likes}{where}"
                " ORDER BY a.started_ts DESC LIMIT ?",
                [*patterns, *args, limit],
            ).fetchall()
            return [
                SearchHit(
                    self._summary(r),
                    _snippet(f"{r['t_title']}\n{r['t_answer']}\n{r['t_prompt']}", terms[0]),
                    0.0,
                )
                for r in rows
            ]

        return self._run(run)

    def documents(
        self, ids: builtins.list[str] | None = None
    ) -> builtins.list[tuple[str, str, str, str]]:
        """(id, title, prompt, answer) of the given artifacts, or of all of them."""

        def query(conn: sqlite3.Connection) -> builtins.list[tuple[str, str, str, str]]:
            sql = (
                "SELECT a.id, t.title, t.prompt, t.answer FROM artifacts a"
                " JOIN texts t ON t.rowid = a.rowid"
            )
            if ids is None:
                rows = conn.execute(sql).fetchall()
            else:
                rows = []
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += conn.execute(f"{sql} WHERE a.id IN ({marks})", chunk).fetchall()
            return [(r[0], r[1] or "", r[2] or "", r[3] or "") for r in rows]

        return self._run(query)

    def summaries(self, ids: builtins.list[str]) -> dict[str, ArtifactSummary]:
        """The summaries of the given ids (missing ids are left out)."""

        def query(conn: sqlite3.Connection) -> dict[str, ArtifactSummary]:
            out: dict[str, ArtifactSummary] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for r in conn.execute(
                    f"SELECT a.* FROM artifacts a WHERE a.id IN ({marks})", chunk
                ):
                    out[r["id"]] = self._summary(r)
            return out

        return self._run(query)


def _snippet(text: str, term: str, width: int = 60) -> str:
    """A one-line excerpt of `text` around the first occurrence of `term`."""
    i = text.lower().find(term.lower())
    if i < 0:
        return text[: width * 2].replace("\n", " ")
    start, end = max(0, i - width), min(len(text), i + len(term) + width)
    core = f"{text[start:i]}[{text[i : i + len(term)]}]{text[i + len(term) : end]}"
    return ("…" if start else "") + core.replace("\n", " ") + ("…" if end < len(text) else "")
