"""Review findings as data: `{severity, file, line, title, detail, rung, model}`.

Why a module of its own: the ladder decides whether to climb from them, `--json` and
`--sarif` carry them, `--fail-on` gates CI on them. All three must read an answer the same
way, and a model's answer is untrusted text, so the parser never raises: what it cannot
read becomes a note, not a crash.

Two forms are read:

* **JSON**: an array of objects, or `{"findings": [...]}`, bare or in a fenced ```json
  block. Objects with an unknown severity are kept as MEDIUM and noted (a finding the
  model meant to report is worth more than a tidy enum).
* **Lines**: `[SEVERITY] path:LINE - title; detail`, or `SEVERITY: …` (the rule the
  one-step review already counts by, see `lanes.review`). `path:LINE` is optional.

A finding whose file:line is not part of the diff is *flagged* (`in_diff: false`), never
dropped: the reviewer may be right about code next to the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Severity words and their rank; a higher rank is more severe. BLOCKER/CRITICAL and
#: MAJOR/HIGH are synonyms as far as gates are concerned.
RANK: dict[str, int] = {
    "BLOCKER": 5, "CRITICAL": 5, "MAJOR": 4, "HIGH": 4, "MEDIUM": 3, "MINOR": 2,
    "LOW": 2, "NIT": 1, "INFO": 0,
}
SEVERITY_WORDS: tuple[str, ...] = tuple(RANK)

_WORDS = "|".join(SEVERITY_WORDS)
_LINE = re.compile(
    r"^\s*(?:(?:[-*+]|\d{1,3}[.)])\s+)?(?:\*\*|__)?\s*"
    r"(?:\[(?P<b>" + _WORDS + r")\]|(?P<c>" + _WORDS + r")(?:\*\*|__)?\s*:)"
    r"(?:\*\*|__)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_LOCATION = re.compile(r"^`?(?P<file>[^\s:`]+?):(?P<line>\d{1,9})(?::\d+)?`?\s*(?:[-—:]\s*)?")
_JSON_BLOCK = re.compile(r"```(?:json)?\s*\n(?P<body>.*?)\n```", re.DOTALL | re.IGNORECASE)


def rank(severity: str) -> int:
    """The rank of a severity word (unknown words rank as MEDIUM)."""
    return RANK.get(severity.upper(), RANK["MEDIUM"])


@dataclass
class Finding:
    """One finding; `in_diff` is None until checked against a diff."""

    severity: str
    title: str
    file: str | None = None
    line: int | None = None
    detail: str = ""
    rung: int = 0
    model: str | None = None
    in_diff: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "line": self.line,
                "title": self.title, "detail": self.detail, "rung": self.rung,
                "model": self.model, "in_diff": self.in_diff}


@dataclass
class Parsed:
    """What `parse` read from one answer, and what it could not read (`notes`)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    form: str = "lines"


def _from_obj(obj: Mapping[str, Any], rung: int, model: str | None,
              notes: list[str]) -> Finding | None:
    sev = str(obj.get("severity") or "").strip().upper()
    if sev not in RANK:
        notes.append(f"finding with unknown severity {sev[:20]!r} kept as MEDIUM")
        sev = "MEDIUM"
    title = str(obj.get("title") or obj.get("message") or "").strip()
    detail = str(obj.get("detail") or obj.get("description") or "").strip()
    if not title and not detail:
        notes.append("a JSON finding without title or detail was skipped")
        return None
    raw_line = obj.get("line")
    line: int | None = None
    if isinstance(raw_line, int) and not isinstance(raw_line, bool) and raw_line > 0:
        line = raw_line
    elif isinstance(raw_line, str) and raw_line.strip().isdigit():
        line = int(raw_line.strip()) or None
    elif raw_line is not None:
        notes.append(f"line {str(raw_line)[:20]!r} is not a line number; ignored")
    file = obj.get("file") or obj.get("path")
    return Finding(severity=sev, title=(title or detail)[:300], detail=detail[:4000],
                   file=str(file)[:500] if file else None, line=line, rung=rung, model=model)


def _try_json(answer: str, rung: int, model: str | None) -> Parsed | None:
    """The answer as JSON findings, or None when it holds no JSON that looks like them."""
    candidates = [m.group("body") for m in _JSON_BLOCK.finditer(answer)]
    stripped = answer.strip()
    if stripped.startswith(("[", "{")):
        candidates.insert(0, stripped)
    notes: list[str] = []
    for text in candidates:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as e:
            notes.append(f"JSON findings could not be read ({str(e)[:80]}); read as lines")
            continue
        items = doc.get("findings") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            notes.append("JSON answer has no `findings` list; read as lines")
            continue
        out = Parsed(notes=notes, form="json")
        for item in items[:500]:
            if not isinstance(item, dict):
                notes.append(f"JSON finding is a {type(item).__name__}, not an object; skipped")
                continue
            f = _from_obj(item, rung, model, notes)
            if f is not None:
                out.findings.append(f)
        return out
    return Parsed(notes=notes) if notes else None


def parse(answer: str, *, rung: int = 0, model: str | None = None) -> Parsed:
    """Every finding in `answer` (JSON first, then the line rule); never raises."""
    from_json = _try_json(answer, rung, model)
    if from_json is not None and from_json.form == "json":
        return from_json
    out = Parsed(notes=from_json.notes if from_json else [])
    for raw in answer.splitlines():
        m = _LINE.match(raw)
        if m is None:
            continue
        sev = (m.group("b") or m.group("c")).upper()
        rest = m.group("rest").strip()
        file: str | None = None
        line: int | None = None
        loc = _LOCATION.match(rest)
        if loc is not None:
            file, line = loc.group("file"), int(loc.group("line")) or None
            rest = rest[loc.end():].strip()
        title, _, detail = rest.partition("; ")
        out.findings.append(Finding(severity=sev, title=title.strip()[:300] or "(no title)",
                                    detail=detail.strip()[:4000], file=file, line=line,
                                    rung=rung, model=model))
    return out


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")


def new_line_ranges(file_diffs: Iterable[tuple[str, str]]) -> dict[str, list[tuple[int, int]]]:
    """Per file (its new path), the new-side line ranges its hunks cover (inclusive)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for path, text in file_diffs:
        spans = out.setdefault(path, [])
        for ln in text.splitlines():
            m = _HUNK.match(ln)
            if m:
                start = int(m.group("start"))
                count = int(m.group("count")) if m.group("count") is not None else 1
                if count:
                    spans.append((start, start + count - 1))
    return out


def flag_outside_diff(findings: Iterable[Finding],
                      ranges: Mapping[str, list[tuple[int, int]]]) -> int:
    """Set `in_diff` on each finding; return how many point outside the diff.

    A finding without a file is neither in nor out (None). A finding with a file but no
    line is in the diff when the file is.
    """
    outside = 0
    for f in findings:
        if not f.file:
            f.in_diff = None
            continue
        path = f.file.removeprefix("./").removeprefix("b/")
        spans = ranges.get(path)
        if spans is None:
            f.in_diff = False
        elif f.line is None:
            f.in_diff = True
        else:
            f.in_diff = any(a <= f.line <= b for a, b in spans)
        outside += f.in_diff is False
    return outside


def at_least(findings: Iterable[Finding], severity: str) -> list[Finding]:
    """The findings at or above `severity`."""
    floor = rank(severity)
    return [f for f in findings if rank(f.severity) >= floor]
