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
    import asyncio
    import os
    import signal
    from typing import Any

    from laneboard.commands._common import require_terminal
    from laneboard.demo import demo_environment, install_note

    app: list[Any] = []  # the running cockpit, once there is one
    signalled: list[int] = []

    def leave(signum: int, _frame: object) -> None:
        # A closed terminal (SIGHUP) or `kill` must still remove the demo's tmux server and
        # files. While the cockpit runs, ask it to exit from its own loop (an exception
        # raised into the middle of Textual's loop can be swallowed there); otherwise, or
        # on a second signal, unwind at once through demo_environment's cleanup.
        signalled.append(signum)
        if app and len(signalled) == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                loop.call_soon_threadsafe(app[0].exit, None, 128 + signum)
                return
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
        app.append(make_app(loaded))
        app[0].run()
        if signalled:
            raise SystemExit(128 + signalled[0])
