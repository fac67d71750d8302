"""Shared pieces of the CLI commands: the --config option, JSON output, running async code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    """`--config FILE` on a subcommand (the root `laneboard --config` works too)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="config.yaml to use (default: the config in effect, see `laneboard config path`).",
    )(f)


def chosen_config(config_path: str | None) -> str | None:
    if config_path:
        return config_path
    ctx = click.get_current_context(silent=True)
    root = (ctx.find_root().obj or {}) if ctx else {}
    value = root.get("config_path") if isinstance(root, dict) else None
    return value if isinstance(value, str) else None


def load_config_for(config_path: str | None) -> Any:
    """The LoadedConfig for this command (ConfigError propagates: exit 2 with file:line)."""
    from laneboard.lanes.loading import load

    return load(chosen_config(config_path))


def emit_json(doc: Any) -> None:
    """Exactly one JSON document on stdout."""
    click.echo(json.dumps(doc, default=str))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def read_stdin() -> str:
    """All of stdin as text.

    Read through `sys.stdin` rather than `click.get_text_stream`, which click 8.5
    deprecated: the stream is already a text stream in every way laneboard is run.
    """
    import sys

    return sys.stdin.read()


def read_prompt(prompt: str) -> str:
    """PROMPT `-` means stdin."""
    if prompt == "-":
        text = read_stdin()
        if not text.strip():
            from laneboard.errors import UsageError

            raise UsageError("empty prompt on stdin")
        return text
    return prompt


def require_terminal(what: str) -> None:
    """Refuse (exit 2) to open a full-screen UI when it cannot be seen.

    Textual draws on stderr, so `laneboard 2>log` would write the screen into the file
    and leave the terminal blank; a missing terminal on stdin means keys cannot reach it.
    """
    import sys

    from laneboard.errors import UsageError

    err, inp = sys.__stderr__, sys.__stdin__
    if err is None or not err.isatty():
        out = sys.__stdout__
        if out is not None and out.isatty():  # the user is looking here, not at the file
            print(f"laneboard: {what} cannot draw: stderr is redirected", file=out)
        raise UsageError(
            f"{what} draws on the terminal through stderr, which is redirected; "
            "run it without `2>…` (lanes keep their own output in tmux and artifacts)"
        )
    if inp is None or not inp.isatty():
        raise UsageError(f"{what} needs a terminal on stdin to read keys")
