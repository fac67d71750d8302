"""`laneboard demo`: the cockpit with stand-in model endpoints — no accounts needed."""

from __future__ import annotations

import click


@click.command()
@click.option("--print-config", is_flag=True, help="Print the demo config and exit (no TUI).")
def demo(print_config: bool) -> None:
    """Open the cockpit on stand-in endpoints, an isolated HOME and a throw-away workspace.

    Real `claude` and `codex` lanes are used when the CLIs are installed, imitations
    otherwise. Nothing touches your own agent configs; the demo's tmux server and files are
    removed on exit.
    """
    import os
    import signal

    from laneboard.commands._common import require_terminal
    from laneboard.demo import demo_environment, install_note

    def leave(signum: int, _frame: object) -> None:
        # a closed terminal (SIGHUP) or `kill` must still remove the demo's tmux server
        # and files: unwind through demo_environment's cleanup
        raise SystemExit(128 + signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, leave)

    if not print_config:
        require_terminal("laneboard demo")
    with demo_environment() as env:
        if print_config:
            click.echo(env.config.read_text())
            return
        click.echo(f"laneboard demo: {install_note(env.real)}", err=True)
        from laneboard.lanes.loading import load_file
        from laneboard.tui.app import make_app

        loaded = load_file(str(env.config))
        os.chdir(env.workspace)
        make_app(loaded).run()
