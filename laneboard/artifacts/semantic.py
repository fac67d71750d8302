"""Semantic search over artifacts with an embedding model the caller supplies.

The vectors live in the artifact index (`vectors` table) next to the name of the model
that made them. Vectors from two models live in different spaces: comparing them yields
confident nonsense. So the index remembers one embedding model (and its dimension); when
`SemanticIndex` is opened with another, every vector is dropped and re-made before any
search runs. Queries only ever compare vectors of the current model.

No HTTP here: the caller passes `embed(texts) -> vectors` (the Ollama harness provides
one), which keeps artifacts free of network code and lets tests use a deterministic
stand-in. Similarity is cosine, computed in Python over the stored vectors: plenty for the
thousands of artifacts one developer keeps, with no numpy dependency.
"""

from __future__ import annotations

import heapq
import logging
import math
import sqlite3
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from laneboard.artifacts.index import ArtifactIndex, ArtifactSummary
from laneboard.errors import ArtifactError

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
"""An async function from texts to one vector per text, in order."""


@dataclass(frozen=True)
class SemanticHit:
    """A semantic-search result: the artifact and its cosine similarity to the query."""

    artifact: ArtifactSummary
    score: float


def cosine(
    a: Sequence[float], b: Sequence[float], norm_a: float | None = None, norm_b: float | None = None
) -> float:
    """Cosine similarity; 0.0 when either vector is all zeros."""
    na = norm_a if norm_a is not None else math.sqrt(math.fsum(x * x for x in a))
    nb = norm_b if norm_b is not None else math.sqrt(math.fsum(x * x for x in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


class SemanticIndex:
    """Embeddings for the artifacts in `index`, made by the model named `model`.

    `batch_size` texts go to `embed` per call; each artifact's text is its title, answer
    and prompt, cut to `max_chars` (embedding models have small context windows).
    """

    def __init__(
        self,
        index: ArtifactIndex,
        embed: Embed,
        model: str,
        *,
        batch_size: int = 16,
        max_chars: int = 8000,
    ) -> None:
        if not model:
            raise ArtifactError("Semantic search needs the embedding model's name.")
        self.index = index
        self.embed = embed
        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_chars = max_chars

    # ------------------------------------------------------------------ bookkeeping

    def stored_model(self) -> str | None:
        """The model whose vectors the index holds now (None before the first sync)."""
        with self.index.connection() as conn:
            return _get_meta(conn, "embedding_model")

    def _reset_if_model_changed(self, dim: int | None = None) -> bool:
        """Drop every vector if they were made by another model or have another size."""
        with self.index.connection() as conn:
            stored = _get_meta(conn, "embedding_model")
            stored_dim = _get_meta(conn, "embedding_dim")
            changed = stored != self.model or (
                dim is not None and stored_dim is not None and int(stored_dim) != dim
            )
            if changed:
                if stored is not None:
                    log.info(
                        "embedding model changed, re-indexing every artifact",
                        extra={"old": stored, "new": self.model},
                    )
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("DELETE FROM vectors")
                    _set_meta(conn, "embedding_model", self.model)
                    _set_meta(conn, "embedding_dim", None if dim is None else str(dim))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            elif dim is not None and stored_dim is None:
                _set_meta(conn, "embedding_dim", str(dim))
            return changed

    def _text(self, title: str, prompt: str, answer: str) -> str:
        return f"{title}\n\n{answer}\n\n{prompt}"[: self.max_chars]

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors = await self.embed(texts)
        if len(vectors) != len(texts):
            raise ArtifactError(
                f"The embedding model {self.model} returned {len(vectors)} vectors for "
                f"{len(texts)} texts."
            )
        out: list[list[float]] = []
        for v in vectors:
            vec = [float(x) for x in v]
            if not vec or not all(math.isfinite(x) for x in vec):
                raise ArtifactError(
                    f"The embedding model {self.model} returned an empty or non-finite vector."
                )
            out.append(vec)
        if len({len(v) for v in out}) > 1:
            raise ArtifactError(
                f"The embedding model {self.model} returned vectors of different sizes."
            )
        return out

    # ------------------------------------------------------------------ public

    async def sync(self, *, _resized: bool = False) -> int:
        """Embed every artifact that has no vector from this model; returns how many.

        Runs a full re-index when the index's vectors came from another model.
        """
        self.index.refresh()
        self._reset_if_model_changed()
        with self.index.connection() as conn:
            missing = [
                r[0]
                for r in conn.execute(
                    "SELECT a.id FROM artifacts a LEFT JOIN vectors v"
                    " ON v.id = a.id AND v.model = ? WHERE v.id IS NULL ORDER BY a.started_ts",
                    (self.model,),
                )
            ]
        done = 0
        for start in range(0, len(missing), self.batch_size):
            docs = self.index.documents(missing[start : start + self.batch_size])
            if not docs:
                continue
            vectors = await self._embed([self._text(t, p, a) for _, t, p, a in docs])
            if self._reset_if_model_changed(len(vectors[0])):
                # Same name, different size: the model was swapped under its name.
                if _resized:
                    raise ArtifactError(
                        f"The embedding model {self.model} keeps changing its vector size."
                    )
                return await self.sync(_resized=True)
            with self.index.connection() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for (doc_id, *_), vec in zip(docs, vectors, strict=True):
                        conn.execute(
                            "INSERT OR REPLACE INTO vectors (id, model, dim, norm, vec)"
                            " VALUES (?,?,?,?,?)",
                            (doc_id, self.model, len(vec), _norm(vec), array("d", vec).tobytes()),
                        )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            done += len(docs)
        return done

    async def search(
        self,
        query: str,
        *,
        limit: int = 10,
        lane: str | None = None,
        kind: str | None = None,
    ) -> list[SemanticHit]:
        """The `limit` artifacts most similar to `query`, best first (after a `sync`)."""
        if not query.strip():
            return []
        await self.sync()
        (qvec,) = await self._embed([query])
        if self._reset_if_model_changed(len(qvec)):
            await self.sync(_resized=True)
        qnorm = _norm(qvec)
        with self.index.connection() as conn:
            rows = conn.execute(
                "SELECT v.id, v.dim, v.norm, v.vec FROM vectors v JOIN artifacts a ON a.id = v.id"
                " WHERE v.model = ? AND v.dim = ?"
                + (" AND a.lane = ?" if lane is not None else "")
                + (" AND a.kind = ?" if kind is not None else ""),
                [self.model, len(qvec)] + [x for x in (lane, kind) if x is not None],
            ).fetchall()
        scored = []
        for doc_id, _dim, norm, blob in rows:
            vec = array("d")
            vec.frombytes(blob)
            scored.append((cosine(qvec, vec, qnorm, norm), doc_id))
        best = heapq.nlargest(limit, scored)
        summaries = self.index.summaries([doc_id for _, doc_id in best])
        return [SemanticHit(summaries[i], s) for s, i in best if i in summaries]


def _norm(vec: Sequence[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vec))


def _get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute("DELETE FROM index_meta WHERE key = ?", (key,))
    else:
        conn.execute(
            "INSERT INTO index_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
