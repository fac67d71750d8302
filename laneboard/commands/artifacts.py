"""`laneboard artifacts list|show|search|reindex`: what the lanes produced, kept on disk.

The files under `artifacts.dir` are the truth; the SQLite index only makes listing and
searching fast and heals itself from the files. Semantic search embeds through the local
Ollama model named by `artifacts.embed_model`; when that model cannot be reached, search
falls back to text search and says so (on stderr, and as `note` in `--json`), because an
empty result would be indistinguishable from "nothing matches".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, run

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactStore, ArtifactSummary, Embed
    from laneboard.config import Config
    from laneboard.harnesses.ollama import OllamaHarness


def _store(config_path: str | None) -> tuple[Config, ArtifactStore]:
    from laneboard.lanes.redaction import open_store

    cfg = load_config_for(config_path).config
    return cfg, open_store(cfg)


def _when(summary: ArtifactSummary) -> str:
    return summary.started.strftime("%Y-%m-%d %H:%M:%S") if summary.started else "-"


def _findings(meta: dict[str, Any]) -> int | None:
    """How many findings a review stored (`extra.findings`), None when it did not say."""
    extra = meta.get("extra")
    n = extra.get("findings") if isinstance(extra, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _row(summary: ArtifactSummary, findings: bool = False) -> str:
    """One line per artifact, fixed columns, so `grep`/`cut` work on the output; with
    `findings` (`--kind review`) a findings count column before the title (`  3 findings`; '-': unknown)."""
    count = ""
    if findings:
        n = _findings(summary.meta)
        count = f"{'-' if n is None else n:>3} findings  "
    return (f"{summary.short_id}  {_when(summary)}  {summary.kind:<14} {summary.lane:<10} "
            f"{summary.state:<10} {count}{summary.title}")


@click.group()
def artifacts() -> None:
    """List, show and search captured artifacts (one Markdown file per captured turn)."""


@artifacts.command(name="list")
@click.option("--lane", default=None, help="Only this lane's artifacts.")
@click.option("--kind", type=click.Choice(["review", "turn", "commit-message", "triage"]),
              default=None, help="Only artifacts of this kind.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def list_(lane: str | None, kind: str | None, limit: int, as_json: bool,
          config_path: str | None) -> None:
    """Artifacts, newest first: id, start time (UTC), kind, lane, state, title (with
    `--kind review`: a findings count before the title)."""
    _, store = _store(config_path)
    try:
        rows = store.list(lane=lane, kind=kind, limit=limit)
    finally:
        store.close()
    if as_json:
        emit_json({"artifacts": [{**r.as_dict(), "findings": _findings(r.meta)} for r in rows],
                   "root": str(store.root)})
        return
    if not rows:
        click.echo(f"no artifacts in {store.root}", err=True)
        return
    for r in rows:
        click.echo(_row(r, findings=kind == "review"))


@artifacts.command()
@click.argument("artifact_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Front matter, prompt and answer as JSON.")
@config_option
def show(artifact_id: str, as_json: bool, config_path: str | None) -> None:
    """Print one artifact (by id, unique id prefix, or file path) as stored."""
    _, store = _store(config_path)
    try:
        artifact = store.get(artifact_id)
    finally:
        store.close()
    if as_json:
        doc = artifact.as_dict()
        extra = artifact.extra or {}
        if isinstance(extra.get("finding_list"), list):  # a ladder review's findings as data
            doc["findings"] = extra["finding_list"]
        emit_json(doc)
        return
    click.echo(artifact.path.read_text(encoding="utf-8"), nl=False)
    if not artifact.complete:
        click.echo(f"laneboard: {artifact.path}: the answer does not match its recorded "
                   "digest (the file was cut or edited)", err=True)


def _embedder(cfg: Config) -> tuple[OllamaHarness | None, str | None, str]:
    """(harness, model id, why-not): the Ollama harness that embeds for semantic search.

    Only Ollama embeds here: the embedding model must stay local (artifacts hold diffs).
    """
    if not cfg.artifacts.embed_model:
        return None, None, "no artifacts.embed_model is configured"
    from laneboard.core.harness_kinds import kind
    from laneboard.errors import ModelRefError
    from laneboard.harnesses.base import HarnessSpec
    from laneboard.harnesses.ollama import OllamaHarness
    from laneboard.lanes.refs import require_model

    try:
        model = require_model(cfg, cfg.artifacts.embed_model)
    except ModelRefError as e:
        return None, None, str(e)
    provider = cfg.providers.get(model.provider)
    if provider is None or not kind(provider.harness).local_models:
        return None, None, (f"the embedding model {model.key} is not served by an Ollama "
                            "provider")
    spec = HarnessSpec(lane="artifacts-embed", harness=provider.harness, model=model.provider_id,
                       provider=model.provider, base_url=provider.base_url, kind="embedding")
    return OllamaHarness(spec, history_turns=0), model.key, ""


async def _semantic(cfg: Config, store: ArtifactStore, query: str, lane: str | None,
                    kind: str | None, limit: int) -> tuple[list[dict[str, Any]] | None, str]:
    """Semantic hits, or (None, why) when the embedding model is not usable right now."""
    from laneboard.artifacts import SemanticIndex
    from laneboard.errors import ArtifactError, HarnessError

    harness, model_key, why = _embedder(cfg)
    if harness is None or model_key is None:
        return None, why
    try:
        try:
            await harness.probe()
        except HarnessError as e:
            return None, f"the embedding model is not reachable ({e})"
        embed: Embed = harness.embed
        semantic = SemanticIndex(store.index, embed, model_key)
        try:
            hits = await semantic.search(query, limit=limit, lane=lane, kind=kind)
        except (HarnessError, ArtifactError) as e:
            return None, f"semantic search failed ({e})"
        return [{**h.artifact.as_dict(), "score": round(h.score, 4)} for h in hits], ""
    finally:
        await harness.stop()


@artifacts.command()
@click.argument("query")
@click.option("--semantic", is_flag=True,
              help="Rank by meaning with the local embedding model (artifacts.embed_model).")
@click.option("--lane", default=None, help="Only this lane's artifacts.")
@click.option("--kind", default=None, help="Only artifacts of this kind.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def search(query: str, semantic: bool, lane: str | None, kind: str | None, limit: int,
           as_json: bool, config_path: str | None) -> None:
    """Artifacts whose title, prompt or answer contain every word of QUERY, best first.

    With --semantic, by similarity of meaning; when the embedding model cannot be reached
    the text search runs instead and a note says so.
    """
    cfg, store = _store(config_path)
    note = ""
    mode = "text"
    hits: list[dict[str, Any]] | None = None
    try:
        if semantic and store.root.is_dir():
            hits, why = run(_semantic(cfg, store, query, lane, kind, limit))
            if hits is None:
                note = f"semantic search unavailable: {why}; showing text search instead"
            else:
                mode = "semantic"
        if hits is None:
            hits = [{**h.artifact.as_dict(), "snippet": h.snippet, "score": round(h.score, 4)}
                    for h in store.search(query, lane=lane, kind=kind, limit=limit)]
    finally:
        store.close()
    if as_json:
        emit_json({"query": query, "mode": mode, "note": note or None, "hits": hits})
        return
    if note:
        click.echo(f"laneboard: {note}", err=True)
    if not hits:
        click.echo(f"no artifacts match {query!r}", err=True)
        return
    for h in hits:
        extra = f"  [{h['score']:.3f}]" if mode == "semantic" else ""
        click.echo(f"{str(h['id'])[:8]}  {h.get('kind', ''):<14} {h.get('lane', ''):<10} "
                   f"{h.get('title', '')}{extra}")
        if h.get("snippet"):
            click.echo(f"          {h['snippet']}")


@artifacts.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def reindex(as_json: bool, config_path: str | None) -> None:
    """Rebuild the index from the files (and re-embed them when the embedding model answers)."""
    cfg, store = _store(config_path)
    vectors: int | None = None
    note = ""
    try:
        count = store.rebuild_index()
        if count and cfg.artifacts.embed_model:
            vectors, note = run(_reembed(cfg, store))
    finally:
        store.close()
    if as_json:
        emit_json({"root": str(store.root), "artifacts": count, "embedded": vectors,
                   "note": note or None})
        return
    click.echo(f"indexed {count} artifact(s) in {store.root}")
    if vectors is not None:
        click.echo(f"embedded {vectors} artifact(s) for semantic search")
    if note:
        click.echo(f"laneboard: {note}", err=True)


async def _reembed(cfg: Config, store: ArtifactStore) -> tuple[int | None, str]:
    from laneboard.artifacts import SemanticIndex
    from laneboard.errors import ArtifactError, HarnessError

    harness, model_key, why = _embedder(cfg)
    if harness is None or model_key is None:
        return None, f"semantic index not rebuilt: {why}"
    try:
        await harness.probe()
        return await SemanticIndex(store.index, harness.embed, model_key).sync(), ""
    except (HarnessError, ArtifactError) as e:
        return None, f"semantic index not rebuilt: {e}"
    finally:
        await harness.stop()
