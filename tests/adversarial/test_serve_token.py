"""Attacks on `laneboard serve`'s one secret: the token in the URL.

The promise under attack: whoever lacks the token gets nothing — no page, no websocket
(from a script on the server's own origin or on another site), no file outside the
static folder — and the token never leaves the tokened page: the page loads nothing from
another origin (no Referer to leak it, no third-party stylesheet that could read it out of
the page's attributes), cannot send a request to another origin, navigating away sends no
Referer, a page on another site cannot drive the websocket even when it has the URL, and
no process's command line or environment (readable by other local users) holds it.

Driven by a real headless Chromium against a real `laneboard serve`; the "other site" is
a real HTTP server on another port that records every request it gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium import webdriver

from tests.fixtures.tmux import wait_until
from tests.test_serve_browser import (
    LANE_TABLE,
    Served,
    chromium,
    network_events,
    pane_text,
    plain_status,
    serving,
    wait_screen,
)

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

OTHER_SITE_PAGE = b"<!DOCTYPE html><html><head><title>elsewhere</title></head><body>elsewhere</body></html>"

# Resolves "open" when a websocket to arguments[0] opens, "refused" when it errors/closes.
PROBE_WEBSOCKET = """
const [url, done] = arguments;
let ws;
try { ws = new WebSocket(url); } catch (e) { done("blocked: " + e); return; }
ws.onopen = () => { done("open"); ws.close(); };
ws.onerror = () => done("refused");
ws.onclose = () => done("refused");
"""

PROBE_FETCH = """
const [url, done] = arguments;
const violations = [];
document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
fetch(url, {mode: "no-cors"}).then(
  () => done({fetched: true, violations: violations}),
  (e) => setTimeout(() => done({fetched: false, violations: violations}), 0));
"""


class OtherSite:
    """A real HTTP server on another port: the third party the token must never reach."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(OTHER_SITE_PAGE)))
                self.end_headers()
                self.wfile.write(OTHER_SITE_PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the requests list is the log

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@contextlib.contextmanager
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()
        thread.join(timeout=30)


def probe_websocket(driver: webdriver.Chrome, url: str) -> str:
    result = driver.execute_async_script(PROBE_WEBSOCKET, url)
    return str(result)


def ws_url(served: Served, path: str) -> str:
    return f"ws://127.0.0.1:{served.port}{path}"


def test_the_page_loads_nothing_from_elsewhere_and_sends_nothing_there(
    tmp_path: Path, tmux_socket: str
) -> None:
    with serving(tmp_path, tmux_socket) as served, other_site() as site, \
            chromium(tmp_path) as driver:
        network_events(driver)  # what the browser did before (its own start page) is not ours
        driver.get(served.url)
        wait_screen(driver, LANE_TABLE)
        events = network_events(driver)
        requested = [e["params"]["request"]["url"] for e in events
                     if e["method"] == "Network.requestWillBeSent"]
        assert served.url in requested
        elsewhere = [u for u in requested
                     if not (u.startswith(f"{served.base}/") or u.startswith("data:"))]
        assert elsewhere == [], f"the tokened page loaded third-party resources: {elsewhere}"
        sockets = [e["params"]["url"] for e in events if e["method"] == "Network.webSocketCreated"]
        assert sockets and all(u.startswith(ws_url(served, f"/{served.token}/ws")) for u in sockets)

        document = next(e["params"]["response"] for e in events
                        if e["method"] == "Network.responseReceived"
                        and e["params"]["response"]["url"] == served.url)
        headers = {k.lower(): v for k, v in document["headers"].items()}
        assert headers["referrer-policy"] == "no-referrer"
        assert "content-security-policy" in headers

        # a script on the page (say, injected through a terminal escape) cannot reach out
        outcome = driver.execute_async_script(PROBE_FETCH, f"{site.origin}/fetched")
        assert outcome["fetched"] is False, outcome
        assert "connect-src" in outcome["violations"], outcome
        assert "/fetched" not in site.paths()  # the request never left the browser
        assert probe_websocket(driver, f"ws://127.0.0.1:{site.origin.rsplit(':', 1)[1]}/x") \
            .startswith(("refused", "blocked"))

        # following a link off the page tells the other site nothing of the token
        driver.execute_script("window.location.href = arguments[0];", f"{site.origin}/landing")
        wait_until(lambda: "/landing" in site.paths(), timeout=60)
        for _path, request_headers in site.requests:
            referer = request_headers.get("referer", "")
            assert served.token not in referer, referer
            assert served.token not in str(request_headers)


def test_the_websocket_needs_the_token_and_the_pages_own_origin(
    tmp_path: Path, tmux_socket: str
) -> None:
    with serving(tmp_path, tmux_socket) as served, other_site() as site, \
            chromium(tmp_path) as driver:
        token, wrong = served.token, served.wrong_token()
        guesses = ["/ws", f"/{wrong}/ws", f"/{token[:20]}/ws", f"/{token}ws", f"/{token.upper()}/ws"]

        # from a script on the server's own origin (its 404 page): no token, no websocket
        driver.get(served.base + "/")
        for path in guesses:
            assert probe_websocket(driver, ws_url(served, path)) == "refused", path
        # the probe can succeed: with the token, from this origin, the websocket opens
        assert probe_websocket(driver, ws_url(served, f"/{token}/ws")) == "open"

        # from another site, even one that learnt the whole URL: refused
        driver.get(f"{site.origin}/attacker")
        for path in [*guesses, f"/{token}/ws"]:
            assert probe_websocket(driver, ws_url(served, path)) == "refused", path

        async def handshake(path: str, origin: str | None) -> int:
            headers = {"Origin": origin} if origin else {}
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.ws_connect(ws_url(served, path), headers=headers):
                        return 101
                except aiohttp.WSServerHandshakeError as err:
                    return err.status

        assert asyncio.run(handshake(f"/{token}/ws", site.origin)) == 403
        assert asyncio.run(handshake(f"/{token}/ws", "null")) == 403
        assert asyncio.run(handshake(f"/{token}/ws", served.base.replace("127.0.0.1", "127.0.0.2"))) == 403
        assert asyncio.run(handshake(f"/{wrong}/ws", served.base)) == 404
        assert asyncio.run(handshake(f"/{token}/ws", served.base)) == 101

        # the static route serves its folder and nothing beyond it, token or not
        for path in (f"/{token}/static/../../server.py", f"/{token}/static/%2e%2e/%2e%2e/server.py",
                     f"/{token}/static/..%2f..%2fserver.py", f"/{token}/static/",
                     f"/{token}/static/js/", f"/{token}/download/x", "/static/js/textual.js"):
            assert plain_status(served.base + path) in (403, 404), path
        assert plain_status(f"{served.base}/{token}/static/js/textual.js") == 200


MALFORMED_FRAMES = [
    "not json",
    "{\"a\": 1}",
    "[]",
    "[5]",
    "[\"stdin\"]",
    "[\"stdin\", 5]",
    "[\"stdin\", \"typed-secret-1234\", \"extra\"]",
    "[\"resize\", {}]",
    "[\"resize\", {\"width\": \"80\", \"height\": 24}]",
    "[\"nosuch\", \"typed-secret-1234\"]",
]


def test_malformed_browser_messages_close_that_connection_quietly(
    tmp_path: Path, tmux_socket: str
) -> None:
    """A client holding the token but sending frames the page never sends: its connection
    closes (1003), the server keeps serving, stderr gets one line each — no traceback and
    nothing of what was sent. Absurd sizes are clamped, not obeyed."""
    with serving(tmp_path, tmux_socket) as served:
        url = ws_url(served, f"/{served.token}/ws")

        async def send(frame: str) -> tuple[aiohttp.WSMsgType, int | None]:
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
                await ws.send_str(frame)
                while True:
                    msg = await ws.receive(timeout=60)
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        return msg.type, ws.close_code

        async def alive_after_huge_resize() -> bool:
            async with aiohttp.ClientSession() as session, \
                    session.ws_connect(url + "?width=999999999&height=-7") as ws:
                await ws.send_str('["resize", {"width": 1000000000000, "height": 0}]')
                await ws.send_str('["ping", "still-here"]')
                while True:
                    msg = await ws.receive(timeout=60)
                    if msg.type == aiohttp.WSMsgType.TEXT and "still-here" in msg.data:
                        return True
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        return False

        for frame in MALFORMED_FRAMES:
            kind, code = asyncio.run(send(frame))
            assert kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), frame
            assert code == aiohttp.WSCloseCode.UNSUPPORTED_DATA, (frame, code)
        assert asyncio.run(alive_after_huge_resize())
        assert served.proc.poll() is None
    assert "Traceback" not in served.err, served.err
    assert "typed-secret" not in served.err
    assert served.err.count("malformed message") == len(MALFORMED_FRAMES), served.err
    assert served.proc.returncode == 0


def _descendants(pid: int) -> set[int]:
    found = {pid}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    if int(child) not in found:
                        found.add(int(child))
                        frontier.append(int(child))
    return found


def test_no_process_carries_the_token(tmp_path: Path, tmux_socket: str) -> None:
    """Command lines and environments are readable by other users (ps, /proc): the
    serve process, the cockpit child it runs per browser, and every lane must not hold it."""
    with serving(tmp_path, tmux_socket) as served, chromium(tmp_path) as driver:
        driver.get(served.url)
        wait_screen(driver, LANE_TABLE)
        wait_until(lambda: "READY>" in pane_text(tmux_socket), timeout=60)
        pids = _descendants(served.proc.pid)
        assert len(pids) > 1  # the cockpit child runs under serve
        tmux_pids = _tmux_pids(tmux_socket)
        assert tmux_pids
        for pid in pids | tmux_pids:
            for part in ("cmdline", "environ"):
                with contextlib.suppress(OSError):
                    data = Path(f"/proc/{pid}/{part}").read_bytes()
                    assert served.token.encode() not in data, (pid, part)
        parsed = urllib.parse.urlsplit(served.url)
        assert parsed.path.strip("/") == served.token


def _tmux_pids(socket: str) -> set[int]:
    import subprocess

    out = subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F", "#{pane_pid}"],
                         capture_output=True, text=True, check=False).stdout.split()
    server = subprocess.run(["tmux", "-L", socket, "display-message", "-p", "#{pid}"],
                            capture_output=True, text=True, check=False).stdout.split()
    pids: set[int] = set()
    for p in [*out, *server]:
        pids |= _descendants(int(p))
    return pids
