"""Shared test set-up. Fixture modules live in tests/fixtures/, one per kind of real part."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
NPM_BIN = ROOT / ".cache" / "npm" / "node_modules" / ".bin"
if NPM_BIN.is_dir():
    # The test command installs the pinned agent CLIs here (never globally).
    os.environ["PATH"] = f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# CI explores the same hypothesis examples on every run (a red main must be reproducible);
# a developer's run explores new ones, so new counterexamples are still found before CI.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = [
    f"tests.fixtures.{name}"
    for name in ("standins", "tmux", "gateway")
    if (Path(__file__).parent / "fixtures" / f"{name}.py").exists()
]


@pytest.fixture
def repo_root() -> Path:
    return ROOT
