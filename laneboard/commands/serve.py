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
  Referer header;
- the page is our own copy of textual-serve's, without its Google Fonts stylesheet, under a
  content security policy that lets it load only this server's files and connect only to
  its own websocket (the token is in the page; nothing from elsewhere may read it out);
- the websocket refuses a browser page from another origin (403) even with the token.

The child is not plain `laneboard` because the cockpit command refuses to draw without a
terminal on stdin/stderr; under the web driver its "terminal" is the pipe textual-serve reads.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import secrets
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
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
    """No Referer carrying the token elsewhere; no cached copy of a tokened page; no framing."""
    response = await handler(request)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def content_security_policy(ws_origin: str, nonce: str) -> str:
    """The page may load only its own files and talk only to its own websocket.

    The token sits in the page (the websocket URL), so anything the page pulls from another
    origin is a way out for it: textual-serve's stock page links a Google Fonts stylesheet,
    and a third-party stylesheet can read attribute values out with CSS selectors. Scripts
    run only from this server or with the per-page nonce; the terminal's inline styles need
    'unsafe-inline' for styles, which cannot send anything anywhere under these rules.
    """
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "img-src 'self' data:",
            f"connect-src {ws_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_html(*, title: str, static_url: str, websocket_url: str, font_size: int, nonce: str) -> str:
    """The cockpit's page: textual-serve's, less everything from elsewhere.

    Same element ids and classes as textual-serve's template (textual.js looks for
    `.textual-terminal`, `#start`, `body.-first-byte`), fonts from the bundled Roboto Mono
    instead of Google's, and the Restart buttons wired by a nonce'd script instead of
    inline `onClick` handlers, which the content security policy would block.
    """
    e = html.escape
    static = e(static_url)
    return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{e(title)}</title>
    <link rel="stylesheet" href="{static}css/xterm.css">
    <script src="{static}js/textual.js"></script>
    <style>
      @font-face {{ font-family: "Roboto Mono"; font-style: normal;
        src: url("{static}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype"); }}
      @font-face {{ font-family: "Roboto Mono"; font-style: italic;
        src: url("{static}fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype"); }}
      body {{ background: #0c181f; }}
      .dialog-container {{ position: absolute; width: 100vw; height: 100vh; display: flex;
        align-items: center; justify-content: center; z-index: 10; }}
      .shade {{ position: absolute; width: 100%; height: 100%; background: #0c181f; }}
      .intro {{ width: 640px; height: 240px; font-size: 16px; z-index: 20;
        font-family: "Roboto Mono", menlo, monospace; text-align: center;
        color: rgba(255, 255, 255, 0.95); background-color: #12232d; display: flex;
        flex-direction: column; align-items: center; justify-content: center; margin: 32px; }}
      body.-first-byte .intro-dialog {{ display: none; }}
      body .textual-terminal {{ opacity: 0; transition: opacity 0.3s ease-out; }}
      body.-first-byte .textual-terminal {{ opacity: 1; }}
      button {{ padding: 16px 32px; background-color: #5e0ba7; color: rgba(255, 255, 255, 0.95);
        border: none; font-family: "Roboto Mono", menlo, monospace; margin: 16px; }}
      button:hover {{ background: #ac5af4; cursor: pointer; }}
      .closed-dialog {{ display: none; }}
      body.-closed .closed-dialog {{ display: flex; }}
      #start {{ display: none; }}
      #start.-delay {{ display: block; }}
    </style>
    <script nonce="{e(nonce)}">
      document.addEventListener("DOMContentLoaded", () => {{
        for (const button of document.querySelectorAll("button.restart")) {{
          button.addEventListener("click", () => {{
            const url = new URL(window.location.href);
            url.searchParams.delete("delay");
            window.location.href = url.pathname + url.search;
          }});
        }}
      }});
    </script>
  </head>
  <body>
    <div class="dialog-container intro-dialog">
      <div class="shade"></div>
      <div class="intro">
        <div>{e(title)}</div>
        <button type="button" class="restart" id="start">Start</button>
      </div>
    </div>
    <div class="dialog-container closed-dialog">
      <div class="shade"></div>
      <div class="intro">
        <div class="message">Session ended.</div>
        <button type="button" class="restart">Restart</button>
      </div>
    </div>
    <div id="terminal" class="textual-terminal"
         data-session-websocket-url="{e(websocket_url)}"
         data-font-size="{font_size}"></div>
  </body>
</html>
"""


def same_origin(origin: str, host: str) -> bool:
    """Whether a browser's Origin header names the host the request came in on."""
    _scheme, sep, rest = origin.partition("://")
    return bool(sep) and rest.lower() == host.lower()


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
        p = self.prefix
        app.add_routes(
            [
                web.get(f"{p}/", self.handle_token_index, name="index"),
                web.get(f"{p}/ws", self.handle_token_websocket, name="websocket"),
                web.get(f"{p}/download/{{key}}", self.handle_download, name="download"),
                web.static(f"{p}/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        return app

    async def handle_token_index(self, request: web.Request) -> web.StreamResponse:
        """The cockpit's page, with the websocket and static URLs under the token."""
        host = request.host
        ws_scheme = "wss" if request.scheme == "https" else "ws"
        router = request.app.router
        static = str(router["static"].url_for(filename="/")).rstrip("/") + "/"
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        nonce = secrets.token_urlsafe(16)
        page = page_html(
            title=self.title,
            static_url=f"{request.scheme}://{host}{static}",
            websocket_url=f"{ws_scheme}://{host}{router['websocket'].url_for()}",
            font_size=max(6, min(font_size, 72)),
            nonce=nonce,
        )
        response = web.Response(text=page, content_type="text/html")
        response.headers["Content-Security-Policy"] = content_security_policy(
            f"{ws_scheme}://{host}", nonce
        )
        return response

    async def handle_token_websocket(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's websocket, refused to a page from another origin (403).

        Browsers always send Origin on a websocket; a page on another site that got hold
        of the URL (history, a paste) would otherwise drive the lanes from the victim's
        browser. Clients that are not browsers send none and have the token already.
        """
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, request.host):
            raise web.HTTPForbidden(text="websocket from another origin refused")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = terminal_size(request.query.get("width"), 80)
        height = terminal_size(request.query.get("height"), 24)
        service: AppService | None = None

        async def close() -> None:
            await websocket.close()

        try:
            await websocket.prepare(request)
            service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            await relay_browser_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as exc:  # one connection's failure must not end the server
            click.echo(f"laneboard serve: a browser connection failed: {exc}", err=True)
        finally:
            if service is not None:
                await service.stop()
        return websocket


MAX_TERMINAL_SIZE = 1000  # columns or rows; more is not a screen, only memory


def terminal_size(value: object, default: int) -> int:
    """A column/row count from the browser, within 1..MAX_TERMINAL_SIZE (else `default`)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return default
    try:
        size = int(value)
    except ValueError:
        return default
    return max(1, min(size, MAX_TERMINAL_SIZE))


BrowserMessage = tuple[str, str | tuple[int, int] | None]


def parse_browser_message(text: str) -> BrowserMessage | None:
    """One message of textual-serve's page, or None when it is not one the page sends.

    The page sends `["stdin", text]`, `["resize", {"width": W, "height": H}]`,
    `["ping", text]`, `["blur"]` and `["focus"]`. textual-serve's own loop asserts and
    indexes into whatever arrives, so a malformed frame wrote a traceback to the server's
    stderr; here it is refused by shape before anything acts on it.
    """
    try:
        envelope = json.loads(text)
    except ValueError:
        return None
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        return None
    kind, args = envelope[0], envelope[1:]
    if kind in ("blur", "focus") and not args:
        return kind, None
    if kind in ("stdin", "ping") and len(args) == 1 and isinstance(args[0], str):
        return kind, args[0]
    if kind == "resize" and len(args) == 1 and isinstance(args[0], dict):
        width, height = args[0].get("width"), args[0].get("height")
        if isinstance(width, int) and isinstance(height, int):
            return kind, (terminal_size(width, 80), terminal_size(height, 24))
    return None


async def relay_browser_messages(websocket: web.WebSocketResponse, service: AppService) -> None:
    """Keys, sizes and focus from the browser to the cockpit child, until the socket closes.

    A malformed message closes the connection (1003) with one line on stderr — never a
    traceback, never the message itself (it may hold whatever was typed).
    """
    async for message in websocket:
        if message.type != WSMsgType.TEXT:
            continue
        parsed = parse_browser_message(message.data)
        if parsed is None:
            await websocket.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"malformed message")
            click.echo("laneboard serve: closed a browser connection that sent a malformed "
                       "message", err=True)
            return
        kind, data = parsed
        if kind == "stdin" and isinstance(data, str):
            await service.send_bytes(data.encode("utf-8"))
        elif kind == "resize" and isinstance(data, tuple):
            await service.set_terminal_size(*data)
        elif kind == "ping" and isinstance(data, str):
            await websocket.send_json(["pong", data])
        elif kind == "blur":
            await service.blur()
        elif kind == "focus":
            await service.focus()


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
