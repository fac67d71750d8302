"""`laneboard config check|schema|path`."""

from __future__ import annotations

import json

import click

from laneboard.core.harness_kinds import kind


def _config_option(ctx: click.Context, file: str | None) -> str | None:
    if file:
        return file
    parent = ctx.find_root().obj or {}
    value = parent.get("config_path")
    return value if isinstance(value, str) else None


@click.group()
def config() -> None:
    """Check the config, print its JSON Schema, or say which file is in effect."""


@config.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_context
def check(ctx: click.Context, file: str | None, as_json: bool) -> None:
    """Validate FILE (default: the config in effect) and print a summary.

    Exit 0 when it loads, 2 with file:line:column and a hint when it does not.
    """
    from laneboard.config import discover_config
    from laneboard.errors import ConfigError
    from laneboard.lanes.loading import load, load_file

    chosen = _config_option(ctx, file)
    try:
        loaded = load_file(chosen) if chosen else load(None)
    except ConfigError as e:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "ok": False,
                        "problems": [
                            {
                                "file": p.location.file,
                                "line": p.location.line,
                                "column": p.location.column,
                                "path": p.path,
                                "message": p.message,
                                "expected": p.expected,
                                "hint": p.hint,
                            }
                            for p in e.problems
                        ],
                    }
                )
            )
            raise SystemExit(2) from None
        raise
    cfg = loaded.config
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "file": loaded.path,
                    "lanes": sorted(cfg.lanes),
                    "models": len(cfg.models),
                    "providers": sorted(cfg.providers),
                    "rules": len(cfg.routing.rules) if cfg.routing else 0,
                    "digest": loaded.digest,
                }
            )
        )
        return
    src = discover_config(chosen)
    click.echo(f"{loaded.path}: ok ({src.reason if not file else 'named file'})")
    click.echo(
        f"  {len(cfg.lanes)} lanes, {len(cfg.models)} models, {len(cfg.providers)} providers, "
        f"{len(cfg.routing.rules) if cfg.routing else 0} routing rules, "
        f"{len(cfg.fences.deny)} fence deny patterns"
    )
    for lane_id, lane in cfg.lanes.items():
        model = lane.model or (cfg.defaults.model.primary if cfg.defaults.model else "-")
        row = kind(lane.harness)
        if not row.takes_model:
            model = "-"
        click.echo(
            f"  lane {lane_id:<10} {lane.role:<12} {lane.harness:<11} {model:<28} "
            f"fence={lane.fence} input={lane.input}"
        )
        if row.sandboxed:
            from laneboard.lanes.preflight import COMMAND_DENY_NOTE

            held = "nothing holds it (fence full)" if lane.fence == "full" else "bubblewrap"
            click.echo(f"    {COMMAND_DENY_NOTE}: {held}")


@config.command()
def schema() -> None:
    """Print the JSON Schema of config.yaml (for editor completion)."""
    from laneboard.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@config.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_context
def path(ctx: click.Context, as_json: bool) -> None:
    """Print the absolute path of the config file in effect, and why it is that one.

    The shipped default is printed as the real file inside the installed package (copy it
    to start your own), not as a placeholder. A file named by --config or $LANEBOARD_CONFIG
    that is not there is an error (exit 2): laneboard would refuse to start on it too.
    """
    from pathlib import Path

    from laneboard.config import DEFAULT_CONFIG_NAME, discover_config
    from laneboard.errors import ConfigError, ConfigProblem, Location

    src = discover_config(_config_option(ctx, None))
    if src.path is None:
        from importlib import resources

        actual = str(resources.files("laneboard").joinpath(DEFAULT_CONFIG_NAME))
    else:
        where = Path(src.path).expanduser()
        if not where.is_file():
            what = "no such file" if not where.exists() else "not a regular file"
            raise ConfigError(
                [ConfigProblem(f"{what} (named by {src.reason})", Location(src.path))]
            )
        actual = str(where.resolve())
    if as_json:
        click.echo(
            json.dumps({"path": actual, "reason": src.reason, "shipped": src.path is None})
        )
        return
    click.echo(f"{actual}\t({src.reason})")
