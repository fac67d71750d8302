"""`laneboard preflight`: every agent→model mapping checked before anything spawns.

Prints a Rich table grouped by config, models, policy, environment and openclaw, with a fix
for every problem; `--json` prints exactly one JSON document. Exit codes: a config that
does not load is 2 (the file:line is in the report); with `--check`, 1 for any failure and
2 for warnings only, like `openclaw models status --check`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from laneboard.lanes.preflight import Report

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
_MARK = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}


@click.command(name="preflight")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml to check."
)
@click.option(
    "--openclaw",
    "openclaw_path",
    type=click.Path(dir_okay=False),
    help="Check an openclaw.json (alone, or with --config as well).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--check", is_flag=True, help="Exit 1 on any failure, 2 on warnings only.")
@click.option(
    "--offline", is_flag=True, help="Skip probes that use the network or spawn processes."
)
@click.pass_context
def preflight(
    ctx: click.Context,
    config_path: str | None,
    openclaw_path: str | None,
    as_json: bool,
    check: bool,
    offline: bool,
) -> None:
    """Check every agent→model mapping before anything spawns."""
    from laneboard.lanes.preflight import run_preflight

    path = config_path or (None if openclaw_path else (ctx.obj or {}).get("config_path"))
    report = run_preflight(path, openclaw_path, offline=offline)
    if as_json:
        click.echo(json.dumps(report.to_json(check), indent=2, ensure_ascii=False))
    else:
        _print(report)
    ctx.exit(report.exit_code(check))


def _print(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    broken = [c for c in report.checks if c.id == "config.load" and c.status == "fail"]
    for c in broken:
        # printed whole, never folded into a table cell: file:line:col must stay clickable
        console.print(Text(f"✗ config.load: {c.message}", style="bold red"), soft_wrap=True)
    table = Table(show_edge=False, pad_edge=False, box=None, show_header=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("subject", overflow="fold", max_width=32)
    table.add_column("result / fix", overflow="fold", ratio=1)
    group = None
    for c in report.ordered():
        if c in broken:
            continue
        if c.group != group:
            group = c.group
            table.add_row("", Text(group.upper(), style="bold underline"), "", "")
        style = _STYLE[c.status]
        result = Text(c.message)
        if c.fix and c.status in ("warn", "fail"):
            result.append("\nfix: " + c.fix, style="cyan")
        table.add_row(
            Text(_MARK[c.status], style=style), Text(c.id, style=style), c.subject, result
        )
    if table.row_count:
        console.print(table)
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    target = report.source or ""
    if report.openclaw:
        target = f"{target} + {report.openclaw}" if target else report.openclaw
    console.print(
        f"\npreflight of {target or '(no config)'}: {summary}"
        + (" (offline)" if report.offline else "")
    )
