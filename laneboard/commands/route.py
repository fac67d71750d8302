"""`laneboard route "PROMPT"`: which lane a prompt would go to, and why — nothing is sent.

The same `Router.route()` the cockpit's prompt bar calls on every keystroke, so what this
prints is what Enter would do. Exit 0 with the decision; 2 for a config error (file:line)
or bad input; 1 when untrusted input has no lane that may take it (RouteRefused).
"""

from __future__ import annotations

import click

from laneboard.commands._common import chosen_config, config_option, emit_json, read_prompt

#: The keys of `--json` output, in order.
JSON_KEYS = ("lane", "rule", "reason", "fence", "escalate", "triage", "deny", "enforced_by")


@click.command(name="route")
@click.argument("prompt")
@click.option(
    "--untrusted",
    is_flag=True,
    help="The text is untrusted (mail, web page, chat): only capable lanes may take it.",
)
@click.option(
    "--tool",
    metavar="NAME",
    default=None,
    help="Route as a call of this tool (per-tool routing: routing.tools, lanes.*.tools).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def route(
    prompt: str, untrusted: bool, tool: str | None, as_json: bool, config_path: str | None
) -> None:
    """Show which lane PROMPT would go to, and why (PROMPT `-` reads stdin).

    An `@lane` prefix names the lane; rules, per-tool routing and the untrusted-input
    fence decide the rest. Nothing is sent and no lane is started.
    """
    from laneboard.lanes.fences import fence_summary
    from laneboard.lanes.loading import load
    from laneboard.lanes.router import Router

    text = read_prompt(prompt)
    loaded = load(chosen_config(config_path))
    decision = Router(loaded.config).route(text, untrusted=untrusted, tool=tool)
    held = fence_summary(loaded.config, decision.lane)
    if as_json:
        doc = {**decision.as_dict(), "deny": held["deny"], "enforced_by": held["enforced_by"]}
        emit_json({key: doc[key] for key in JSON_KEYS})
        return
    flags = [f"fence {decision.fence}"]
    if decision.escalate:
        flags.append("escalates")
    if decision.triage:
        flags.append("triage first")
    click.echo(f"{decision.lane}  (rule: {decision.rule})")
    click.echo(f"  {decision.reason}")
    click.echo(f"  {' · '.join(flags)}")
    click.echo(f"  {deny_line(held)}")


def deny_line(held: dict[str, object]) -> str:
    """`fence X · deny: a, b · enforced by …` for a human reader (route and send)."""
    deny = held["deny"]
    entries = ", ".join(str(d) for d in deny) if isinstance(deny, list) and deny else "none"
    return f"fence {held['fence']} · deny: {entries} · enforced by {held['enforced_by']}"
