"""`laneboard serve`: the same cockpit in a browser, through Textual's own textual-serve.

Each browser connection runs a cockpit process (`python -m laneboard.commands.serve`, the
entry at the bottom of this module) under Textual's web driver; textual-serve relays its
screen and keys over a websocket. Whoever reaches that websocket drives the lanes, so:

- it listens on 127.0.0.1 unless `--host` is given, and a non-loopback `--host` warns on
  stderr (anyone on that network who learns the URL gets the cockpit);
- every route (page, websocket, static files, downloads) lives under a random token in the
  path, `/<token>/…`; anything else is 404, so a found port gives nothing, and a page on
  another origin cannot open the websocket without the token;
- the URL with the token is printed once on stdout and never logged: aiohttp's access log
  is off (it would write every path) and textual-serve's banner, which prints the URL, is
  never shown; pages say `Referrer-Policy: no-referrer` so the token does not leave in a
  Referer header.

The child is not plain `laneboard` because the cockpit command refuses to draw without a
terminal on stdin/stderr; under the web driver its "terminal" is the pipe textual-serve reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
import click
import jinja2
from aiohttp import web
from textual_serve.server import Server

from laneboard.commands._common import chosen_config, config_option, load_config_for
from laneboard.errors import LaneboardError

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8766
TOKEN_BYTES = 32  # 256 bits, url-safe base64: not guessable by trying


def is_loopback(host: str) -> bool:
    """True when only this machine can connect to `host`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere: treat it as reachable from outside


def child_command(config_path: str | None) -> str:
    """The shell command textual-serve runs per connection (it runs it through a shell).

    Every part is quoted: the config path is the user's, never agent text, but a space or
    quote in it must neither split nor inject.
    """
    parts = [sys.executable, "-m", "laneboard.commands.serve"]
    if config_path:
        parts += ["--config", str(Path(config_path).resolve())]
    return shlex.join(parts)


@web.middleware
async def _private_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """No Referer carrying the token elsewhere; no cached copy of a tokened page."""
    response = await handler(request)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


class TokenServer(Server):
    """textual-serve's Server with every route under `/<token>/` and URLs built per request.

    URLs come from the request's Host header, not a fixed public URL, so the page works on
    whatever address the browser used and with `--port 0`. The banner and logging setup of
    `Server.serve` are not used (the banner prints the URL).
    """

    def __init__(self, command: str, token: str) -> None:
        super().__init__(command, title="laneboard")
        self.prefix = f"/{token}"

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[_private_headers])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        p = self.prefix
        app.add_routes(
            [
                web.get(f"{p}/", self.handle_token_index, name="index"),
                web.get(f"{p}/ws", self.handle_websocket, name="websocket"),
                web.get(f"{p}/download/{{key}}", self.handle_download, name="download"),
                web.static(f"{p}/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        return app

    async def handle_token_index(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's page, with the websocket and static URLs under the token."""
        host = request.host
        ws_scheme = "wss" if request.scheme == "https" else "ws"
        router = request.app.router
        static = str(router["static"].url_for(filename="/")).rstrip("/") + "/"
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        context: dict[str, Any] = {
            "font_size": font_size,
            "app_websocket_url": f"{ws_scheme}://{host}{router['websocket'].url_for()}",
            "config": {"static": {"url": f"{request.scheme}://{host}{static}"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)


@click.command("serve")
@config_option
@click.option(
    "--host",
    default=None,
    help=f"Address to listen on (default {DEFAULT_HOST}). Anything but loopback warns: "
    "whoever opens the URL drives your lanes.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port (0: any free port; the printed URL says which).",
)
def serve(config_path: str | None, host: str | None, port: int) -> None:
    """The cockpit in a browser, behind a one-time token in the URL.

    The URL is printed once; keep it private. Ctrl+C stops serving (lanes keep running
    in tmux, as when the terminal cockpit quits).
    """
    config_path = chosen_config(config_path)
    load_config_for(config_path)  # a bad config fails here (exit 2, file:line), not in a browser
    bind = host or DEFAULT_HOST
    if not is_loopback(bind):
        click.echo(
            f"laneboard serve: WARNING: listening on {bind}, not loopback. Anyone on that "
            "network who learns the URL can type into your agents; prefer an SSH tunnel "
            f"to {DEFAULT_HOST}.",
            err=True,
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    asyncio.run(_serve(child_command(config_path), bind, port, token))


async def _serve(command: str, host: str, port: int, token: str) -> None:
    """Listen, print the URL once, and serve until SIGINT/SIGTERM."""
    app = await TokenServer(command, token)._make_app()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise LaneboardError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        addr, bound_port = runner.addresses[0][:2]
        shown = f"[{addr}]" if ":" in str(addr) else str(addr)
        click.echo(f"laneboard serve: open http://{shown}:{bound_port}/{token}/")
        click.echo("(the token in this URL is the only key; it is not shown again)")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()  # closes the websockets; textual-serve tells each child to quit


def _child(argv: list[str]) -> int:
    """One browser connection's cockpit: `make_app` under the web driver textual-serve set."""
    from laneboard.tui.app import make_app

    config_path = argv[1] if len(argv) == 2 and argv[0] == "--config" else None

    def load_config() -> LoadedConfig:
        from laneboard.lanes.loading import load

        return load(config_path)

    app = make_app(load_config)
    app.run()
    if app.load_error is not None:
        print(f"laneboard: {app.load_error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
