"""Placeholder commands for features not built yet: they say so and exit 2."""

from __future__ import annotations

import click

from laneboard.errors import UsageError


def pending(name: str, issue: str) -> click.Command:
    """A command that refuses loudly instead of doing nothing."""

    @click.command(name=name, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def _cmd(args: tuple[str, ...]) -> None:
        raise UsageError(f"`laneboard {name}` is not available in this build yet ({issue}).")

    _cmd.help = f"(not available yet: {issue})"
    return _cmd
