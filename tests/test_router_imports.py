"""Importing the router stays cheap: no pydantic, no textual.

Why it matters: the cockpit and `laneboard route` consult the router on every keystroke
path, and the config models behind pydantic cost ~210 ms to import. The router (and refs,
which it uses) may name the config types only for the type checker. This runs the exact
command of the acceptance criterion in a fresh interpreter and reads its import log.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported(module: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    names = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    assert module in names, f"{module} not in the import log:\n{proc.stderr[-2000:]}"
    return names


def test_router_imports_neither_pydantic_nor_textual() -> None:
    names = _imported("laneboard.lanes.router")
    heavy = [n for n in names if n.split(".")[0] in ("pydantic", "pydantic_core", "textual")]
    assert heavy == []
    assert "laneboard.config" not in names


def test_refs_and_core_route_import_no_pydantic() -> None:
    for module in ("laneboard.lanes.refs", "laneboard.core.route"):
        names = _imported(module)
        assert not [n for n in names if n.split(".")[0] in ("pydantic", "pydantic_core")]


def test_the_check_can_fail_config_pulls_pydantic() -> None:
    """The probe sees pydantic when it is imported (so the tests above can fail)."""
    assert "pydantic" in _imported("laneboard.config")
