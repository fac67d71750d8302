"""`laneboard artifacts list|show|search|reindex`, run as the real CLI over a store filled
through the store's own API; semantic search against the stand-in Ollama embeddings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactRecord, ArtifactStore
from laneboard.standins import StandinServer

CONFIG = """\
version: 1
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/qwen3:7b: {{alias: small, tier: local}}
  ollama/qwen3-embedding:8b: {{alias: embed, tier: local, kind: embedding}}
lanes:
  review: {{role: reviewer, harness: ollama, model: small, fence: read-only}}
  commit: {{role: helper, harness: ollama, model: small, fence: read-only}}
artifacts: {{dir: "{artifacts}", embed_model: embed}}
"""

RECORDS = [
    ("review", "review", "review the parser", "[MAJOR] parser.py:10 - race condition in the lexer cache"),
    ("review", "review", "review the billing", "[MINOR] billing.py:3 - rounding of invoice totals"),
    ("commit-message", "commit", "commit message for docs", "docs: explain the kangaroo setup"),
]


def cli(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("LANEBOARD_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", "artifacts", *args, "--config", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def setup(tmp_path: Path, url: str) -> tuple[Path, list[str]]:
    artifacts = tmp_path / "artifacts"
    config = tmp_path / "laneboard.yaml"
    config.write_text(CONFIG.format(url=url, artifacts=artifacts))
    store = ArtifactStore(artifacts)
    ids = []
    for i, (kind, lane, prompt, answer) in enumerate(RECORDS):
        art = store.write_sync(ArtifactRecord(kind=kind, lane=lane, prompt=prompt, answer=answer,  # type: ignore[arg-type]
                                              started=1_700_000_000 + i))
        ids.append(art.id)
    store.close()
    return config, ids


@pytest.fixture
def cfg(tmp_path: Path, standin: StandinServer) -> tuple[Path, list[str]]:
    return setup(tmp_path, standin.url)


def test_list_newest_first_with_filters(tmp_path: Path, cfg: tuple[Path, list[str]]) -> None:
    config, ids = cfg
    out = cli(tmp_path, config, "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == [i[:8] for i in reversed(ids)]
    assert "commit-message" in lines[0] and "review the parser" in lines[2]
    doc = json.loads(cli(tmp_path, config, "list", "--kind", "review", "--json").stdout)
    assert [a["id"] for a in doc["artifacts"]] == [ids[1], ids[0]]
    assert all("path" in a and "prompt" not in a for a in doc["artifacts"])
    doc = json.loads(cli(tmp_path, config, "list", "--lane", "commit", "--json").stdout)
    assert [a["id"] for a in doc["artifacts"]] == [ids[2]]


def test_list_of_an_empty_store(tmp_path: Path, standin: StandinServer) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(url=standin.url, artifacts=tmp_path / "none"))
    out = cli(tmp_path, config, "list")
    assert out.returncode == 0 and out.stdout == "" and "no artifacts" in out.stderr
    assert json.loads(cli(tmp_path, config, "list", "--json").stdout)["artifacts"] == []


def test_show_by_prefix_path_and_json(tmp_path: Path, cfg: tuple[Path, list[str]]) -> None:
    config, ids = cfg
    out = cli(tmp_path, config, "show", ids[0][:6])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("---\n") and "race condition in the lexer cache" in out.stdout
    path = next((tmp_path / "artifacts").rglob(f"*{ids[0][:8]}*.md"))
    assert cli(tmp_path, config, "show", str(path)).stdout == out.stdout
    doc = json.loads(cli(tmp_path, config, "show", ids[0], "--json").stdout)
    assert doc["id"] == ids[0] and doc["prompt"] == "review the parser"


def test_show_unknown_id_is_an_error(tmp_path: Path, cfg: tuple[Path, list[str]]) -> None:
    config, _ = cfg
    out = cli(tmp_path, config, "show", "ffffffff")
    assert out.returncode == 1 and "No artifact" in out.stderr


def test_text_search(tmp_path: Path, cfg: tuple[Path, list[str]]) -> None:
    config, ids = cfg
    doc = json.loads(cli(tmp_path, config, "search", "race condition", "--json").stdout)
    assert doc["mode"] == "text" and doc["note"] is None
    assert [h["id"] for h in doc["hits"]] == [ids[0]]
    out = cli(tmp_path, config, "search", "kangaroo")
    assert out.returncode == 0 and out.stdout.startswith(ids[2][:8])
    out = cli(tmp_path, config, "search", "nothing-like-this")
    assert out.returncode == 0 and "no artifacts match" in out.stderr


def test_semantic_search_through_the_standin(tmp_path: Path, cfg: tuple[Path, list[str]],
                                             standin: StandinServer) -> None:
    config, ids = cfg
    out = cli(tmp_path, config, "search", "invoice totals rounding", "--semantic", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["mode"] == "semantic" and doc["note"] is None
    assert {h["id"] for h in doc["hits"]} == set(ids)
    assert all(isinstance(h["score"], float) for h in doc["hits"])
    embeds = standin.calls("embed")
    assert embeds and all(r.model == "qwen3-embedding:8b" for r in embeds)


def test_semantic_search_falls_back_to_text_with_a_note(tmp_path: Path,
                                                        unreachable_url: str) -> None:
    config, ids = setup(tmp_path, unreachable_url)
    out = cli(tmp_path, config, "search", "kangaroo", "--semantic")
    assert out.returncode == 0, out.stderr
    assert "semantic search unavailable" in out.stderr and "text search instead" in out.stderr
    assert out.stdout.startswith(ids[2][:8])
    doc = json.loads(cli(tmp_path, config, "search", "kangaroo", "--semantic", "--json").stdout)
    assert doc["mode"] == "text" and "not reachable" in doc["note"]


def test_reindex_rebuilds_from_the_files(tmp_path: Path, cfg: tuple[Path, list[str]]) -> None:
    config, ids = cfg
    index = tmp_path / "artifacts" / ".index.sqlite"
    assert index.exists()
    index.unlink()
    out = cli(tmp_path, config, "reindex", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["artifacts"] == 3 and doc["embedded"] == 3 and doc["note"] is None
    listed = json.loads(cli(tmp_path, config, "list", "--json").stdout)["artifacts"]
    assert {a["id"] for a in listed} == set(ids)
