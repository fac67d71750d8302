"""`laneboard serve`: the real command serving the cockpit over real HTTP and websockets.

The promise: nothing is served without the random token in the path (page, websocket,
static files: 404), with it the page loads and the websocket drives a real cockpit process
whose lane table shows the configured lane and whose prompt reaches that lane's tmux pane;
the token is printed once on stdout and nowhere on stderr; `--host` off loopback warns.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.fixtures.tmux import wait_until

pytestmark = pytest.mark.tmux

ECHO_REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("answer: " + line.strip()[::-1], flush=True)
        print("READY>", flush=True)
    """
)


class Served:
    """A running `laneboard serve --port 0`: its process, URL and token."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]{40,})/", url)
        assert m, url
        self.base = f"http://127.0.0.1:{m.group(1)}"
        self.token = m.group(2)


def _config(tmp_path: Path) -> Path:
    repl = tmp_path / "echo.py"
    repl.write_text(ECHO_REPL)
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        version: 1
        lanes:
          webecho:
            role: orchestrator
            harness: command
            command: [{sys.executable}, -u, {repl}]
            ready: "READY>\\\\s*\\\\z"
        routing:
          default: webecho
        notifications:
          desktop: false
        """))
    return cfg


def _env(tmp_path: Path, tmux_socket: str) -> dict[str, str]:
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    return env


def _start(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "laneboard.cli", *args],
        cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return out, err


@pytest.fixture
def served(tmp_path: Path, tmux_socket: str) -> Iterator[Served]:
    proc = _start(["--config", str(_config(tmp_path)), "serve", "--port", "0"], tmp_path,
                  _env(tmp_path, tmux_socket))
    assert proc.stdout is not None
    first = proc.stdout.readline()  # blocks until the server listens (or the process dies)
    m = re.search(r"open (http://\S+)", first)
    assert m, (first, proc.poll())
    s = Served(proc, m.group(1))
    try:
        yield s
    finally:
        out, err = _stop(proc)
        # printed once (the line read above), never again, never on stderr
        assert s.token not in out
        assert s.token not in err
        assert proc.returncode == 0, err


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as r:
        return r.status


@pytest.mark.slow
def test_nothing_without_the_token_and_the_cockpit_with_it(served: Served, tmux_socket: str) -> None:
    base, token = served.base, served.token
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            for path in ("/", "/ws", "/static/js/textual.js", f"/{wrong}/",
                         f"/{wrong}/static/js/textual.js", f"/{token}", f"/{token[:20]}/"):
                assert await _status(session, base + path) == 404, path
            for path in ("/ws", f"/{wrong}/ws"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(base + path)
                assert refused.value.status == 404, path

            async with session.get(f"{base}/{token}/") as page:
                assert page.status == 200
                assert page.headers["Referrer-Policy"] == "no-referrer"
                html = await page.text()
            assert 'data-session-websocket-url="ws://127.0.0.1:' in html
            assert f"/{token}/ws" in html
            assert f"/{token}/static/js/textual.js" in html
            assert await _status(session, f"{base}/{token}/static/js/textual.js") == 200

            async with session.ws_connect(f"{base}/{token}/ws?width=120&height=30") as ws:
                screen = bytearray()

                async def read_until(needle: bytes, timeout: float) -> None:
                    deadline = time.monotonic() + timeout
                    while needle not in screen:
                        left = deadline - time.monotonic()
                        assert left > 0, f"{needle!r} not on the served screen"
                        msg = await ws.receive(timeout=left)
                        if msg.type == aiohttp.WSMsgType.BINARY:
                            screen.extend(msg.data)
                        elif msg.type == aiohttp.WSMsgType.TEXT:
                            screen.extend(msg.data.encode())
                        else:
                            raise AssertionError(f"websocket ended: {msg.type}")

                await ws.send_str(json.dumps(["resize", {"width": 120, "height": 30}]))
                await read_until(b"webecho", 60)  # the lane table, drawn by a real cockpit
                _wait_pane(tmux_socket, "READY>")
                await ws.send_str(json.dumps(["stdin", "olleh-from-browser"]))
                await ws.send_str(json.dumps(["stdin", "\r"]))
                await asyncio.to_thread(_wait_pane, tmux_socket, "answer: resworb-morf-hello")

    asyncio.run(scenario())


def _pane_text(socket: str) -> str:
    panes = subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F", "#{pane_id}"],
                           capture_output=True, text=True, check=False).stdout.split()
    return "\n".join(
        subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", p],
                       capture_output=True, text=True, check=False).stdout
        for p in panes
    )


def _wait_pane(socket: str, text: str) -> None:
    wait_until(lambda: text in _pane_text(socket), timeout=40)


def test_a_bad_config_exits_2_before_serving(tmp_path: Path, tmux_socket: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("version: 1\nlanes:\n  x: {harness: nosuch}\n")
    proc = _start(["--config", str(cfg), "serve", "--port", "0"], tmp_path, _env(tmp_path, tmux_socket))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "bad.yaml" in err
    assert "open http" not in out
    assert "Traceback" not in err


def test_host_off_loopback_warns_on_stderr(tmp_path: Path, tmux_socket: str) -> None:
    proc = _start(["--config", str(_config(tmp_path)), "serve", "--host", "0.0.0.0", "--port", "0"],
                  tmp_path, _env(tmp_path, tmux_socket))
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert re.search(r"open http://0\.0\.0\.0:\d+/[A-Za-z0-9_-]{40,}/", first), first
    _out, err = _stop(proc)
    assert "WARNING: listening on 0.0.0.0, not loopback" in err
    assert proc.returncode == 0
