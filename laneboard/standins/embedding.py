"""Deterministic embeddings: a signed, hashed bag of words, L2-normalised.

Texts that share words get a positive cosine similarity and unrelated texts score near zero,
so semantic-search tests mean something without a real model, and the same text always
gives the same vector (blake2b, not Python's per-process salted `hash`).
"""

from __future__ import annotations

import hashlib
import math
import re

DEFAULT_DIMENSIONS = 64
_WORD = re.compile(r"\w+", re.UNICODE)


def embed_text(text: str, dimensions: int | None = None) -> list[float]:
    """The vector for `text`; all zeros for a text without words."""
    size = dimensions or DEFAULT_DIMENSIONS
    vec = [0.0] * size
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "big") % size
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[bucket] += sign
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        return vec
    return [round(v / norm, 6) for v in vec]


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity (0.0 when either vector is zero)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 0.0 if na == 0.0 or nb == 0.0 else dot / (na * nb)
