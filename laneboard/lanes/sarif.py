"""Findings as SARIF 2.1.0, the format CI systems (GitHub code scanning and others) show
inline on a pull request.

Why so little: SARIF is large, but a review finding needs only a result with a level, a
message and (when known) a physical location. Every rule id is the finding's severity, so
a CI system can filter by it; the ladder rung and model go into `properties`, and a
finding outside the diff says so there too (`inDiff: false`) instead of being dropped.
The tests validate this output against the OASIS schema shipped in tests/fixtures.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from laneboard.errors import UsageError
from laneboard.lanes.findings import Finding, rank

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {5: "error", 4: "error", 3: "warning", 2: "warning", 1: "note", 0: "note"}


def level(severity: str) -> str:
    """SARIF level of a severity word: BLOCKER..HIGH error, MEDIUM..LOW warning, else note."""
    return _LEVELS[rank(severity)]


def _result(f: Finding) -> dict[str, Any]:
    text = f.title if not f.detail else f"{f.title}\n\n{f.detail}"
    res: dict[str, Any] = {
        "ruleId": f.severity.upper(),
        "level": level(f.severity),
        "message": {"text": text or "(no text)"},
        "properties": {"rung": f.rung, "model": f.model, "inDiff": f.in_diff},
    }
    if f.file:
        phys: dict[str, Any] = {"artifactLocation": {"uri": f.file}}
        if f.line:
            phys["region"] = {"startLine": f.line}
        res["locations"] = [{"physicalLocation": phys}]
    return res


def to_sarif(findings: Iterable[Finding], *, version: str = "0") -> dict[str, Any]:
    """One SARIF log with one run of the tool `laneboard review`."""
    found = list(findings)
    severities = sorted({f.severity.upper() for f in found}, key=rank, reverse=True)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "laneboard review",
                "version": version,
                "informationUri": "https://github.com/laneboard/laneboard",
                "rules": [{"id": s, "shortDescription": {"text": f"{s.lower()} finding"},
                           "defaultConfiguration": {"level": level(s)}} for s in severities],
            }},
            "results": [_result(f) for f in found],
        }],
    }


def write_sarif(path: Path, doc: dict[str, Any]) -> None:
    """Write `doc` atomically: CI reads the old file or the whole new one, never half."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--sarif {path}: directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
