"""Capture, redact, store, index and search what lanes produce.

    from laneboard.artifacts import ArtifactStore, ArtifactRecord

    store = ArtifactStore(Path(config.artifacts.dir))
    artifact = await store.write(ArtifactRecord(kind="review", lane="review", prompt=p, answer=a))
    store.list(lane="review")        # newest first, from the self-healing SQLite index
    store.search("race condition")   # FTS5 (or LIKE) over title, prompt and answer
    store.get("3f9a")                # by id, unique id prefix, or path

Files are the truth (one Markdown file per turn, written atomically, 0600 in 0700
folders); the index can always be rebuilt from them. Every text is passed through
`redact` before it is written. This package imports only `laneboard.config` and
`laneboard.errors`, never the harnesses, lanes or the TUI.
"""

from laneboard.artifacts.index import ArtifactIndex, ArtifactSummary, SearchHit, fts5_available
from laneboard.artifacts.model import (
    KINDS,
    STATES,
    Artifact,
    ArtifactKind,
    ArtifactRecord,
    ArtifactState,
    bound,
)
from laneboard.artifacts.redact import RedactionResult, Redactor, redact
from laneboard.artifacts.semantic import Embed, SemanticHit, SemanticIndex, cosine
from laneboard.artifacts.store import ArtifactStore
from laneboard.core.terminal_text import strip_ansi

__all__ = [
    "KINDS",
    "STATES",
    "Artifact",
    "ArtifactIndex",
    "ArtifactKind",
    "ArtifactRecord",
    "ArtifactState",
    "ArtifactStore",
    "ArtifactSummary",
    "Embed",
    "RedactionResult",
    "Redactor",
    "SearchHit",
    "SemanticHit",
    "SemanticIndex",
    "bound",
    "cosine",
    "fts5_available",
    "redact",
    "strip_ansi",
]
