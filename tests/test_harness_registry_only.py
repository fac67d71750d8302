"""Harness-kind knowledge lives in one table: laneboard.core.harness_kinds.

Why a test: laneboard used to compare `harness == "codex"`-style strings in 56 places, so
adding a harness meant finding all of them. Those places now read a registry row
(`kind(h).takes_model`, `.sandboxed`, `.auth_probe`, `.fence_enforcement`, …). This test
parses every module of laneboard/ and fails on a new comparison against a harness name
(`==`, `!=`, `in`, `not in`, also inside a tuple/set/list) and on a new dict keyed by two or
more harness names (a per-kind table kept outside the registry). A harness class's own
`kind = "codex"` is an assignment, not a comparison, and is not flagged.

The few comparisons below that match a harness name by accident are listed with why they
are not harness kinds; anything else must become a registry field.
"""

from __future__ import annotations

import ast
from pathlib import Path

from laneboard.core.harness_kinds import KINDS

PACKAGE = Path(__file__).resolve().parents[1] / "laneboard"
NAMES = frozenset(KINDS)

#: Files that own the vocabulary (the registry, the Literal) or speak another one.
SKIP_FILES = {
    "core/harness_kinds.py",  # the registry itself
    "core/vocabulary.py",  # the HarnessName Literal
}
SKIP_DIRS = ("standins/",)  # stand-ins for remote models name what they imitate

#: (file, source of the comparison) that use the same words for something else.
NOT_HARNESS_KINDS = {
    # the gateway's wire protocol ("ollama" is Ollama's /api/chat dialect, not a lane kind)
    ("gateway/protocols.py", 'proto == "ollama"'),
    ("gateway/turns.py", 'proto == "ollama"'),
    ("gateway/tool_routing.py", 'proto == "ollama"'),
    ("gateway/tool_routing.py", 'proto in ("chat", "ollama")'),
    # a provider *named* ollama (the conventional provider entry), not a harness kind
    ("lanes/preflight/report.py", '"ollama" not in {normalize_provider(k) for k in cfg.providers}'),
    # OpenClaw's memorySearch provider names, from OpenClaw's own config file
    ("lanes/preflight/openclaw_checks.py", 'provider == "ollama"'),
    # codex's JSON event kinds ("command" is a command-execution item)
    ("harnesses/codex/harness.py", 'note.kind == "command"'),
    ("harnesses/codex/harness.py",
     'note.kind in ("message", "command", "file-change", "reasoning", "usage")'),
    # tree-sitter-bash node types
    ("harnesses/deny/shell.py", 'node.type == "command"'),
    ("harnesses/deny/shell.py", 'body_cmd.type != "command"'),
    ("harnesses/deny/shell.py", 'body.type == "command"'),
    ("harnesses/deny/shell.py", 'stage.type != "command"'),
}


def _names_in(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names_in(e) for e in node.elts)) if node.elts else set()
    return set()


def findings(source: str, rel: str) -> list[str]:
    """`file:line: source` of each harness-name comparison or per-kind dict in `source`."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        hit = False
        if isinstance(node, ast.Compare):
            hit = any(_names_in(e) for e in (node.left, *node.comparators))
        elif isinstance(node, ast.Dict):
            keys = set().union(*(_names_in(k) for k in node.keys if k is not None), set())
            hit = len(keys) >= 2
        if hit and isinstance(node, ast.expr):
            text = ast.get_source_segment(source, node) or ""
            if (rel, text) not in NOT_HARNESS_KINDS:
                out.append(f"laneboard/{rel}:{node.lineno}: {text}")
    return out


def test_no_harness_kind_comparison_outside_the_registry() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in SKIP_FILES or rel.startswith(SKIP_DIRS):
            continue
        found += findings(path.read_text(encoding="utf-8"), rel)
    assert not found, (
        "harness-kind knowledge outside laneboard/core/harness_kinds.py (read a registry "
        "field instead, or add one):\n" + "\n".join(found)
    )


def test_the_scan_sees_what_it_forbids() -> None:
    """The scanner itself: each shape it must catch is caught, the allowed ones are not."""
    caught = [
        'if lane.harness == "command": pass',
        'if h != "codex": pass',
        'if harness in {"ollama", "command"}: pass',
        'if h not in ("codex", "claude-code"): pass',
        'X = {"codex": 1, "claude-code": 2}',
    ]
    for src in caught:
        assert findings(src, "x.py"), src
    allowed = [
        'kind = "codex"',
        'spec = dict(harness="ollama")',
        'X = {"codex": 1}',
        'if proto == "ollama": pass',
    ]
    assert findings(allowed[-1], "gateway/protocols.py") == []
    for src in allowed[:-1]:
        assert findings(src, "x.py") == [], src


def test_every_row_loads_its_class_with_the_same_kind() -> None:
    """Adding a harness is one row plus its module: the row's class exists and says which
    kind it is, and a kind that takes no model is one whose config names the program."""
    for name, row in KINDS.items():
        cls = row.load()
        assert getattr(cls, "kind", None) == name, row.target
        assert row.takes_model or row.program_from_config, name
        assert row.modes, name
        if row.binary is not None:
            assert row.npm_package, f"{name}: preflight needs the package that installs it"
