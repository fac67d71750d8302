"""`laneboard runs list|show RUN [--json]`: the conductor's runs, from the artifacts.

Read from the artifact files (each hop's `extra.run` and `extra.parent`), not from the
supervisor, so the tree is there after the cockpit is gone and from any terminal.
"""

from __future__ import annotations

from typing import Any

import click

from laneboard.commands._common import config_option, emit_json, load_config_for


def _runs(config_path: str | None) -> dict[str, dict[str, Any]]:
    from laneboard.conductor.runs import tree_from_artifacts
    from laneboard.lanes.redaction import open_store

    cfg = load_config_for(config_path).config
    store = open_store(cfg)
    try:
        return tree_from_artifacts(a.as_dict(body=False) for a in store.iter_all())
    finally:
        store.close()


@click.group()
def runs() -> None:
    """Conductor runs: which lane asked which, what for, who answered, how long, usage."""


@runs.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def list_(as_json: bool, config_path: str | None) -> None:
    """Every run, newest first."""
    found = sorted(_runs(config_path).values(), key=lambda r: str(r["started"]), reverse=True)
    if as_json:
        emit_json({"runs": [{"run": r["run"], "started": r["started"],
                             "hops": len(r["hops"]),
                             "lanes": sorted({str(h["lane"]) for h in r["hops"]})}
                            for r in found]})
        return
    for r in found:
        root = r["hops"][0]
        click.echo(f"{r['run'][:8]}  {r['started']}  {root['caller']} → {root['lane']}  "
                   f"{len(r['hops'])} hop(s)  {root['state']}")


@runs.command()
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def show(run: str, as_json: bool, config_path: str | None) -> None:
    """The tree of RUN (an id or a prefix of 6+ characters)."""
    from laneboard.errors import UsageError

    found = _runs(config_path)
    hits = [r for k, r in found.items() if k == run or (len(run) >= 6 and k.startswith(run))]
    if len(hits) != 1:
        raise UsageError(f"no run {run!r}" if not hits else f"{run!r} names {len(hits)} runs")
    doc = hits[0]
    if as_json:
        emit_json(doc)
        return
    children: dict[Any, list[dict[str, Any]]] = {}
    for h in doc["hops"]:
        children.setdefault(h["parent"], []).append(h)

    def walk(parent: Any, indent: int) -> None:
        for h in children.get(parent, []):
            usage = h.get("usage") or {}
            click.echo(f"{'  ' * indent}{h['caller']} → {h['lane']} [{h['tool']}] {h['state']} "
                       f"model={h['model']} {h.get('elapsed_s')}s "
                       f"in={usage.get('input_tokens', 0)} out={usage.get('output_tokens', 0)}"
                       f"  {h['artifact']}")
            walk(h["hop"], indent + 1)

    click.echo(f"run {doc['run']}  started {doc['started']}")
    walk(None, 1)
