"""The command line: thin — parses, calls the core, prints.

Subcommands live in `laneboard/commands/<name>.py` and are imported only when invoked, so
`laneboard --help` never loads Textual, libtmux or pydantic. Library code raises
`LaneboardError`s; this module alone turns them into messages and exit codes
(0 ok, 1 failure, 2 usage or config error).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from laneboard import __version__

# name -> (module, attribute, one-line help). The help is here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("laneboard.commands.demo", "demo", "The cockpit with stand-in model endpoints: no accounts needed."),
    "preflight": ("laneboard.commands.preflight", "preflight", "Check every agent→model mapping before anything spawns."),
    "models": ("laneboard.commands.models", "models", "List, resolve and chain model refs against the allowlist."),
    "route": ("laneboard.commands.route", "route", "Show which lane a prompt would go to, and why."),
    "send": ("laneboard.commands.send", "send", "Send a prompt to a lane (starting it if needed)."),
    "review": ("laneboard.commands.review", "review", "Escalate a diff to the plan-mode reviewer; keep the artifact."),
    "lanes": ("laneboard.commands.lanes", "lanes", "Status, start, stop and restart lanes."),
    "up": ("laneboard.commands.lanes", "up", "Run the lane supervisor (use --headless for no TUI)."),
    "artifacts": ("laneboard.commands.artifacts", "artifacts", "List, show and search captured artifacts."),
    "commit-msg": ("laneboard.commands.commit_msg", "commit_msg", "Write a commit message for the staged diff on the local model."),
    "triage": ("laneboard.commands.triage", "triage", "Ask the local triage model: ESCALATE or SKIP (fails closed)."),
    "config": ("laneboard.commands.config", "config", "Check the config, print its JSON Schema, say which file is in effect."),
    "mcp": ("laneboard.commands.mcp", "mcp", "The conductor's MCP server (stdio) for a lane: delegate to other lanes."),
    "runs": ("laneboard.commands.runs", "runs", "List and show conductor runs: who asked whom, what for."),
    "hook": ("laneboard.commands.hook", "hook", "Hooks agent CLIs run for laneboard (Claude Code's PreToolUse fence check)."),
    "gateway": ("laneboard.commands.gateway", "gateway", "The model gateway lanes talk through: run, status, stop."),
    "serve": ("laneboard.commands.serve", "serve", "The cockpit in a browser (textual-serve), behind a one-time token URL."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        cmd = getattr(importlib.import_module(module_name), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="laneboard")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml to use.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """laneboard — a terminal cockpit for multi-model agent lanes.

    Without a subcommand, opens the cockpit on the config in effect
    (--config, $LANEBOARD_CONFIG, ./laneboard.yaml, the user config, the shipped default).
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is None:
        from laneboard.commands.cockpit import run_cockpit

        run_cockpit(config_path)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI and map laneboard errors to messages and exit codes."""
    from laneboard.errors import LaneboardError

    try:
        rv = cli.main(args=argv, prog_name="laneboard", standalone_mode=False)
        # with standalone_mode=False, `ctx.exit(n)` comes back as the return value
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        return rv
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except LaneboardError as e:
        click.echo(f"laneboard: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # a bug in laneboard, not bad input: say so, keep it short
        import os

        if os.environ.get("LANEBOARD_DEBUG"):
            raise
        click.echo(
            f"laneboard: internal error: {type(e).__name__}: {e}\n"
            "  (a bug in laneboard; rerun with LANEBOARD_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
