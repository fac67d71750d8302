"""The shipped examples stay valid: each loads with `laneboard config check` (the real CLI)
and an offline preflight finds no failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_config_checks_and_preflights(example: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "laneboard", "config", "check", str(example)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pre = subprocess.run(
        [sys.executable, "-m", "laneboard", "preflight", "--config", str(example), "--offline",
         "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    checks = json.loads(pre.stdout)["checks"]
    assert not [c for c in checks if c["status"] == "fail"], checks


def test_the_split_compute_example_keeps_model_servers_on_the_hosts_loopback() -> None:
    text = (EXAMPLES[0].parent / "split-compute.yaml").read_text()
    assert "host: imac" in text and "http://127.0.0.1:8080/v1" in text
