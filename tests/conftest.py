"""Shared test set-up. Fixture modules live in tests/fixtures/, one per kind of real part."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NPM_BIN = ROOT / ".cache" / "npm" / "node_modules" / ".bin"
if NPM_BIN.is_dir():
    # The test command installs the pinned agent CLIs here (never globally).
    os.environ["PATH"] = f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

pytest_plugins = [
    f"tests.fixtures.{name}"
    for name in ("standins", "tmux")
    if (Path(__file__).parent / "fixtures" / f"{name}.py").exists()
]


@pytest.fixture
def repo_root() -> Path:
    return ROOT
