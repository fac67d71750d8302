"""`laneboard models list|resolve|chain`: what a ref becomes, and why.

These are diagnostics, so they load the config's structure without insisting that every
lane's model resolves (that is what they help you fix). Heavy imports stay inside the
commands so `laneboard --help` never pays for pydantic.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig
    from laneboard.lanes.preflight.openclaw import OpenClawFile
    from laneboard.lanes.refs import ResolvedModel


def _source_options(f: Any) -> Any:
    f = click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")(f)
    f = click.option(
        "--openclaw",
        "openclaw_path",
        type=click.Path(dir_okay=False),
        help="Resolve against an openclaw.json with OpenClaw's rules.",
    )(f)
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml to use."
    )(f)


def _load(ctx: click.Context, config_path: str | None) -> LoadedConfig:
    from laneboard.config import load_config, load_effective

    path = config_path or (ctx.obj or {}).get("config_path")
    return load_config(path) if path else load_effective(None)


def _emit(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _model_json(m: ResolvedModel) -> dict[str, Any]:
    return {
        "key": m.key,
        "provider": m.provider,
        "model": m.model,
        "provider_id": m.provider_id,
        "alias": m.alias,
        "tier": m.tier,
        "kind": m.kind,
        "via": m.via,
        "profile": m.profile,
        "context_window": m.context_window,
        "params": m.params.model_dump(exclude_none=True),
    }


@click.group(name="models")
def models() -> None:
    """List, resolve and chain model refs against the allowlist."""


@models.command(name="list")
@_source_options
@click.pass_context
def list_(
    ctx: click.Context, config_path: str | None, openclaw_path: str | None, as_json: bool
) -> None:
    """Every allowlisted model with its alias, tier and kind."""
    if openclaw_path:
        from laneboard.lanes.preflight.openclaw import load_openclaw

        oc = load_openclaw(openclaw_path)
        rows = [
            {"key": e.key, "provider": e.provider, "model": e.model, "alias": e.alias}
            for e in oc.catalog.entries
        ]
        if as_json:
            _emit({"source": oc.path, "allowlist": oc.policy_source, "models": rows})
            return
        _table(
            ["key", "alias"],
            [[str(r["key"]), str(r["alias"] or "")] for r in rows],
            f"{oc.path} — allowlist: {oc.policy_source}",
        )
        return
    from laneboard.lanes.refs import require_model

    loaded = _load(ctx, config_path)
    cfg = loaded.config
    ms = [require_model(cfg, key) for key in cfg.models]
    if as_json:
        _emit(
            {
                "source": loaded.path,
                "default_provider": cfg.defaults.provider,
                "models": [_model_json(m) for m in ms],
            }
        )
        return
    _table(
        ["key", "alias", "tier", "kind", "sent as", "context"],
        [
            [
                m.key,
                m.alias or "",
                m.tier,
                m.kind,
                m.provider_id,
                f"{m.context_window:,}" if m.context_window else "",
            ]
            for m in ms
        ],
        f"{loaded.path} — default provider: {cfg.defaults.provider or '(none)'}",
    )


@models.command()
@click.argument("ref")
@_source_options
@click.pass_context
def resolve(
    ctx: click.Context, ref: str, config_path: str | None, openclaw_path: str | None, as_json: bool
) -> None:
    """What REF becomes and why (alias / exact / unique-provider / default-provider).

    Exits 1 when the ref does not resolve to an allowed model.
    """
    if openclaw_path:
        from laneboard.lanes.preflight.openclaw import load_openclaw

        res = load_openclaw(openclaw_path).resolve(ref)
    else:
        from laneboard.lanes.refs import resolve_ref

        res = resolve_ref(_load(ctx, config_path).config, ref)
    if as_json:
        _emit(res.to_json())
    elif res.ok:
        extra = f" (alias {res.alias})" if res.alias and res.via == "alias" else ""
        click.echo(f"{res.input} → {res.key} via {res.via}{extra}: allowed")
    else:
        click.echo(f"{res.input}: {res.error}", err=False)
        if res.hint:
            click.echo(f"  hint: {res.hint}")
    if not res.ok:
        ctx.exit(1)


@models.command()
@click.argument("lane_or_ref")
@_source_options
@click.pass_context
def chain(
    ctx: click.Context,
    lane_or_ref: str,
    config_path: str | None,
    openclaw_path: str | None,
    as_json: bool,
) -> None:
    """The ordered candidates a lane (or agent) would try; a ref alone is strict."""
    if openclaw_path:
        from laneboard.lanes.preflight.openclaw import load_openclaw

        _openclaw_chain(ctx, load_openclaw(openclaw_path), lane_or_ref, as_json)
        return
    from laneboard.lanes.refs import lane_chain, ref_chain

    cfg = _load(ctx, config_path).config
    is_lane = lane_or_ref in cfg.lanes
    ms = lane_chain(cfg, lane_or_ref) if is_lane else ref_chain(cfg, lane_or_ref)
    if as_json:
        _emit(
            {
                "input": lane_or_ref,
                "lane": lane_or_ref if is_lane else None,
                "strict": not is_lane,
                "candidates": [_model_json(m) for m in ms],
            }
        )
        return
    what = f"lane {lane_or_ref}" if is_lane else f"{lane_or_ref} (explicit: strict, no fallbacks)"
    _table(
        ["#", "key", "tier", "via"],
        [[str(i + 1), m.key, m.tier, m.via] for i, m in enumerate(ms)],
        what if ms else f"{what}: runs no model",
    )


def _openclaw_chain(ctx: click.Context, oc: OpenClawFile, name: str, as_json: bool) -> None:
    agent = next((a for a in oc.agents if a.id == name.strip().lower()), None)
    refs = ([agent.primary] if agent and agent.primary else []) + (
        list(agent.fallbacks) if agent else []
    )
    resolutions = [oc.resolve(r) for r in (refs if agent else [name])]
    if as_json:
        _emit(
            {
                "input": name,
                "agent": agent.id if agent else None,
                "strict": agent is None,
                "candidates": [r.to_json() for r in resolutions],
            }
        )
    else:
        _table(
            ["#", "ref", "key", "via", "allowed"],
            [
                [str(i + 1), r.input, r.key or "", r.via or "", "yes" if r.ok else r.error or "no"]
                for i, r in enumerate(resolutions)
            ],
            f"agent {agent.id}" if agent else f"{name} (explicit: strict)",
        )
    if any(not r.ok for r in resolutions):
        ctx.exit(1)


def _table(headers: list[str], rows: list[list[str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False)
    for h in headers:
        t.add_column(h)
    for r in rows:
        t.add_row(*r)
    Console(highlight=False).print(t)
