"""A ladder review's stored findings (`extra.finding_list`, issue 19) reach the CLI:
`laneboard artifacts show ID --json` carries them as `findings`, and `laneboard artifacts
list --kind review` shows a findings count per review. The real CLI in a subprocess, over
a store filled through the store's own API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from laneboard.artifacts import ArtifactRecord, ArtifactStore

CONFIG = """\
version: 1
providers:
  ollama: {{harness: ollama, base_url: "http://127.0.0.1:9"}}
models:
  ollama/qwen3:7b: {{alias: small, tier: local}}
lanes:
  review: {{role: reviewer, harness: ollama, model: small, fence: read-only}}
artifacts: {{dir: "{artifacts}"}}
"""

FINDINGS = [
    {"severity": "HIGH", "file": "auth/login.py", "line": 2, "title": "hard-coded password",
     "detail": "", "rung": 2, "model": "gpt55", "in_diff": True},
    {"severity": "LOW", "file": "auth/login.py", "line": 40, "title": "naming", "detail": "",
     "rung": 2, "model": "gpt55", "in_diff": False},
]


def cli(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("LANEBOARD_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", "artifacts", *args, "--config", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_findings_in_show_json_and_list_count(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    config = tmp_path / "laneboard.yaml"
    config.write_text(CONFIG.format(artifacts=artifacts))
    store = ArtifactStore(artifacts)
    ladder = store.write_sync(ArtifactRecord(
        kind="review", lane="review", prompt="review the diff", answer="two findings",
        title="ladder review", started=1_700_000_000,
        extra={"findings": 2, "finding_list": FINDINGS, "stopped": "top of the ladder"}))
    plain = store.write_sync(ArtifactRecord(
        kind="review", lane="review", prompt="old review", answer="no extra",
        title="one-step review", started=1_700_000_001))
    store.close()

    shown = cli(tmp_path, config, "show", ladder.id, "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["findings"] == FINDINGS
    assert doc["extra"]["finding_list"] == FINDINGS
    assert "findings" not in json.loads(cli(tmp_path, config, "show", plain.id, "--json").stdout)

    listed = cli(tmp_path, config, "list", "--kind", "review")
    assert listed.returncode == 0, listed.stderr
    rows = {ln.split()[0]: ln for ln in listed.stdout.splitlines()}
    assert "  2 findings  ladder review" in rows[ladder.short_id]
    assert "  - findings  one-step review" in rows[plain.short_id]

    as_json = json.loads(cli(tmp_path, config, "list", "--kind", "review", "--json").stdout)
    counts = {a["title"]: a["findings"] for a in as_json["artifacts"]}
    assert counts == {"ladder review": 2, "one-step review": None}
