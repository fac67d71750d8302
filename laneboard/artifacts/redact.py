"""Keep secrets out of prompts and artifacts.

A diff under review, a pasted log or an agent's answer can carry credentials. Whatever
laneboard sends to a model or writes to disk first goes through `redact`, which replaces
each secret with `[REDACTED:<kind>:<tag>]` and counts what it replaced, so an artifact can
say "3 secrets removed" without saying what they were. Which texts are secrets is decided
by the rule table in `laneboard.artifacts.redact_rules` (provider shapes, detect-secrets'
detectors, and context rules for URLs, headers, command lines and assignments).

Design choices, and why:

- **Stable placeholders.** `<tag>` is 8 hex digits of an HMAC of the secret under a key
  drawn once per process: the same secret gets the same placeholder everywhere in a text
  (and across the texts of one process — a prompt and its answer), two different secrets
  get different ones, so a reader (or a later gateway that restores them) can tell which
  is which. The key never leaves the process and is random, so the tag says nothing about
  the secret (an unkeyed hash of a short password could be brute-forced from an artifact).
- Only the secret value is replaced; `API_KEY=` and `Authorization: Bearer` stay, so a
  reader still sees what was there.
- Markers never match any rule (every rule refuses a value inside or starting with a
  marker), so redacting twice changes nothing more: the review command redacts the
  prompt, the supervisor redacts every send, the store redacts again, and counts only
  what was still there.
- Every pattern runs on RE2, linear in the text whatever the input, and is guarded by a
  cheap substring test, so a megabyte of log is fast and no crafted prompt can stall it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

from laneboard.artifacts.redact_rules import (
    CONTEXT,
    DETECT_SECRETS_PLUGINS,
    MARKER_PREFIX,
    SHAPES,
    Rule,
    detect_secrets_rules,
    looks_random,
    shannon_entropy,
)

__all__ = [
    "KINDS",
    "MARKER_PREFIX",
    "RedactionResult",
    "Redactor",
    "looks_random",
    "marker",
    "merge_kinds",
    "redact",
    "shannon_entropy",
]

_PROCESS_KEY = os.urandom(16)


def marker(kind: str, secret: str = "", *, key: bytes | None = None) -> str:
    """The text that replaces `secret` of `kind`: `[REDACTED:<kind>:<tag>]`."""
    digest = hmac.new(key or _PROCESS_KEY, secret.encode("utf-8", "surrogatepass"),
                      hashlib.sha256).hexdigest()
    return f"{MARKER_PREFIX}{kind}:{digest[:8]}]"


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text, how many secrets were replaced, and how many of each kind."""

    text: str
    count: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: RedactionResult) -> RedactionResult:
        """Combine the counts of two redactions (the text is `other`'s, the later one)."""
        return RedactionResult(
            other.text, self.count + other.count, merge_kinds(self.kinds, other.kinds)
        )


def merge_kinds(*counts: Mapping[str, int]) -> dict[str, int]:
    """Sum per-kind counts (for example the prompt's and the answer's), sorted by kind."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    regex: Any  # re2._Regexp (untyped)
    groups: tuple[int, ...]


def _compile(rules: Iterable[Rule]) -> tuple[_Compiled, ...]:
    out = []
    for r in rules:
        rx = re2.compile(r.pattern)
        out.append(_Compiled(r, rx, tuple(rx.groupindex[g] for g in r.groups)))
    return tuple(out)


_SHAPES = _compile(SHAPES)
_CONTEXT = _compile(CONTEXT)
_DETECT_SECRETS: tuple[_Compiled, ...] | None = None
_DETECT_SECRETS_ANY: Any = None


def _detect_secrets() -> tuple[tuple[_Compiled, ...], Any]:
    """Layer 2, compiled on first use; plus one alternation of all its patterns, so that
    a text none of them matches costs one scan instead of one per pattern."""
    global _DETECT_SECRETS, _DETECT_SECRETS_ANY
    if _DETECT_SECRETS is None:
        rules = detect_secrets_rules()
        _DETECT_SECRETS = _compile(rules)
        _DETECT_SECRETS_ANY = re2.compile("|".join(f"(?:{r.pattern})" for r in rules))
    return _DETECT_SECRETS, _DETECT_SECRETS_ANY


class Redactor:
    """Replaces secrets with `[REDACTED:<kind>:<tag>]`.

    `literals` are known secret values (for example the value of a lane's `api_key_env`)
    that are redacted wherever they appear, as kind `known-secret`, even when no pattern
    would recognise them. Values shorter than 8 characters are ignored: redacting every
    `a` in a text would destroy it without protecting anything. `key` fixes the HMAC key
    of the placeholders' tags (default: one random key per process).
    """

    def __init__(self, literals: Iterable[str] = (), *, key: bytes | None = None) -> None:
        values = sorted({v for v in literals if len(v) >= 8}, key=len, reverse=True)
        self._literals = values
        self._key = key

    def redact(self, text: str) -> RedactionResult:
        """Redact `text`; the result's `kinds` counts replacements per kind."""
        counts: Counter[str] = Counter()
        for value in self._literals:
            if value in text:
                counts["known-secret"] += text.count(value)
                text = text.replace(value, marker("known-secret", value, key=self._key))
        lowered = text.lower()
        passes: list[tuple[_Compiled, ...]] = [_SHAPES]
        ds, ds_any = _detect_secrets()
        if ds_any.search(text) is not None:
            passes.append(ds)
        passes.append(_CONTEXT)
        for rules in passes:
            for c in rules:
                if c.rule.hints and not any(h in lowered for h in c.rule.hints):
                    continue
                spans = _find(c, text)
                if spans:
                    text = self._splice(text, spans, c.rule.kind)
                    lowered = text.lower()
                    counts[c.rule.kind] += len(spans)
        total = sum(counts.values())
        return RedactionResult(text, total, dict(sorted(counts.items())))

    def _splice(self, text: str, spans: list[tuple[int, int]], kind: str) -> str:
        parts: list[str] = []
        last = 0
        for start, end in spans:
            parts.append(text[last:start])
            parts.append(marker(kind, text[start:end], key=self._key))
            last = end
        parts.append(text[last:])
        return "".join(parts)


def _inside_marker(text: str, start: int) -> bool:
    """Whether position `start` lies in (or begins) a placeholder already written."""
    if text.startswith(MARKER_PREFIX, start):
        return True
    opened = text.rfind(MARKER_PREFIX, max(0, start - 80), start)
    return opened != -1 and "]" not in text[opened:start]


def _find(c: _Compiled, text: str) -> list[tuple[int, int]]:
    """The spans of `text` holding secrets of `c`'s kind, in order, not overlapping."""
    rule = c.rule
    spans: list[tuple[int, int]] = []
    last_end = 0
    for m in c.regex.finditer(text):
        start, end = m.span()
        for g in c.groups:
            if m.group(g) is not None:
                start, end = m.span(g)
                break
        if rule.strip:
            while start < end and text[start] in rule.strip:
                start += 1
            while end > start and text[end - 1] in rule.strip:
                end -= 1
        if start >= end or start < last_end:
            continue
        if rule.left and start > 0 and text[start - 1] in rule.left:
            continue
        if rule.right and end < len(text) and text[end] in rule.right:
            continue
        if _inside_marker(text, start):
            continue
        if rule.validate is not None and not rule.validate(text[start:end], text, start, end):
            continue
        spans.append((start, end))
        last_end = end
    return spans


_DEFAULT = Redactor()


def redact(text: str) -> RedactionResult:
    """Redact `text` with the built-in rules (see the module docstring)."""
    return _DEFAULT.redact(text)


KINDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [r.kind for r in SHAPES]
        + [kind for _m, _c, kind, _g in DETECT_SECRETS_PLUGINS]
        + [r.kind for r in CONTEXT]
        + ["known-secret"]
    )
)
"""Every kind a redaction may report."""
