"""`laneboard demo`: the cockpit with stand-in model endpoints — no accounts needed."""

from __future__ import annotations

import click


@click.command()
@click.option("--print-config", is_flag=True, help="Print the demo config and exit (no TUI).")
@click.option(
    "--install-clis",
    is_flag=True,
    help="npm-install the pinned claude and codex into the demo's cache (~/.cache/laneboard/npm) "
    "when they are not found, then exit.",
)
def demo(print_config: bool, install_clis: bool) -> None:
    """Open the cockpit on stand-in endpoints, an isolated HOME and a throw-away workspace.

    Real `claude` and `codex` lanes are used when the CLIs are found — on PATH, in the
    checkout's `.cache/npm` (where `bash scripts/test.sh` installs them) or in the demo's
    cache (`--install-clis` fills it) — imitations otherwise. Nothing touches your own agent
    configs; the demo's tmux server and files are removed on exit.
    """
    import asyncio
    import os
    import signal
    import threading
    from typing import Any

    from laneboard.commands._common import require_terminal
    from laneboard.demo import demo_environment, install_note

    if install_clis:
        _install_clis()
        return

    app: list[Any] = []  # the running cockpit, once there is one
    envs: list[Any] = []  # the demo's environment, once there is one
    signalled: list[int] = []

    def last_resort(signum: int) -> None:
        # Textual's writer thread dies on the first write to a hung-up terminal (EIO), and
        # its driver then blocks for ever putting into the full queue while it closes: the
        # app never returns. Whatever holds it up, the demo's server and files still go.
        import shutil

        from laneboard.demo import remove_demo

        if envs:
            remove_demo(envs[0])
            shutil.rmtree(envs[0].root, ignore_errors=True)
        os._exit(128 + signum)

    def leave(signum: int, _frame: object) -> None:
        # A closed terminal (SIGHUP) or `kill` must still remove the demo's tmux server and
        # files. While the cockpit runs, ask it to exit from its own loop (an exception
        # raised into the middle of Textual's loop can be swallowed there); otherwise, or
        # on a second signal, unwind at once through demo_environment's cleanup.
        signalled.append(signum)
        if signum == signal.SIGHUP:  # the terminal is gone: let writes to it go nowhere
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
        if len(signalled) == 1:
            timer = threading.Timer(10.0, last_resort, (signum,))
            timer.daemon = True
            timer.start()
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
        envs.append(env)
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


def _install_clis() -> None:
    """Install only what is missing, say where, and exit 1 (not a traceback) if npm fails."""
    import subprocess

    from laneboard.demo import demo_npm_cache, find_clis
    from laneboard.demo import install_clis as run_install

    found = find_clis()
    if all(found.values()):
        for name, where in found.items():
            click.echo(f"{name}: already found at {where}")
        return
    click.echo(f"installing the pinned agent CLIs into {demo_npm_cache()} (npm) ...", err=True)
    try:
        run_install()
    except (OSError, subprocess.CalledProcessError) as exc:
        click.echo(f"laneboard: demo --install-clis: {exc}", err=True)
        raise SystemExit(1) from None
    for name, where in find_clis().items():
        click.echo(f"{name}: {where or 'still not found'}")
