"""`laneboard config check` refuses a review ladder it cannot run safely (issue 19): a rung
naming a lane that does not exist, and a rung on a lane that can write (a reviewer never
edits what it reviews) — each named by file:line, exit 2. The real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
version: 1
providers:
  ollama: {harness: ollama, base_url: "http://127.0.0.1:9"}
models:
  ollama/qwen3:7b: {alias: small, tier: local}
lanes:
  coder: {role: coder, harness: ollama, model: small, fence: workspace-write}
  review: {role: reviewer, harness: ollama, model: small, fence: read-only}
review:
  ladder:
    - {lane: reveiw, does: classify}
    - {lane: coder, does: review}
    - {lane: review, does: escalate}
"""


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ladder.yaml"
    path.write_text(text)
    env = {**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("LANEBOARD_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "laneboard.cli", "config", "check", str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_unknown_and_writable_rung_lanes_are_refused_with_file_line(tmp_path: Path) -> None:
    res = check(tmp_path, CONFIG)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr
    assert "Traceback" not in err
    assert "ladder.yaml:11:" in err and "no lane named 'reveiw'" in err
    assert "did you mean 'review'?" in err
    assert "ladder.yaml:12:" in err and "lane 'coder', which can write" in err
    assert "ladder.yaml:13:" not in err  # the read-only escalation rung is fine


def test_a_ladder_of_read_only_lanes_passes(tmp_path: Path) -> None:
    fixed = CONFIG.replace("lane: reveiw", "lane: review").replace("lane: coder, does",
                                                                   "lane: review, does")
    res = check(tmp_path, fixed)
    assert res.returncode == 0, res.stdout + res.stderr
