"""`laneboard serve` driven by a real headless Chromium (Debian's `chromium` + `chromedriver`).

The promise (issue #18): the printed URL with its token loads the cockpit in a browser and
the page shows the lane table; a prompt typed into the page reaches the lane's tmux pane;
the URL without the token, or with a wrong one, is refused (HTTP 404, no cockpit); and the
token is printed once, on stdout, and written nowhere else by the serve process.

How the screen is read: textual-serve draws with xterm.js through its WebGL/canvas
renderer, so the lane names are pixels, not DOM text. The page keeps its terminal object
in a closure; a script installed before any page script runs (CDP
`Page.addScriptToEvaluateOnNewDocument`) catches it at `this.terminal = new Terminal(…)`
through a setter on `Object.prototype`, and the test reads the terminal's buffer — the
cells the renderer draws — with `execute_script`. Nothing in the served page is changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fixtures.tmux import wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver")

ECHO_REPL = textwrap.dedent(
    """
    import sys
    print("READY>", flush=True)
    for line in sys.stdin:
        print("answer: " + line.strip()[::-1], flush=True)
        print("READY>", flush=True)
    """
)

# Runs in every document before its own scripts: keeps the xterm.js Terminal that
# textual.js assigns to `this.terminal` (a plain assignment, so an inherited setter runs).
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal",
      {value: value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer) { window.__laneboardTerminal = value; }
  },
});
"""

READ_SCREEN = """
const term = window.__laneboardTerminal;
if (!term) { return null; }
const buffer = term.buffer.active;
const rows = [];
for (let i = 0; i < buffer.length; i++) {
  const line = buffer.getLine(i);
  rows.push(line ? line.translateToString(true) : "");
}
return rows.join("\\n");
"""


class Served:
    """A running `laneboard serve --port 0`: its process, URL and token."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]{40,})/", url)
        assert m, url
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = m.group(2)
        self.out = ""
        self.err = ""

    def wrong_token(self) -> str:
        """A token of the same shape that differs only in its last characters."""
        tail = "AAAA" if not self.token.endswith("AAAA") else "BBBB"
        return self.token[:-4] + tail


def write_config(tmp_path: Path) -> Path:
    """Two command lanes (line-reversing REPLs) on the private tmux socket; prompts
    without an @lane go to `webecho`."""
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
          webother:
            role: helper
            harness: command
            command: [{sys.executable}, -u, {repl}]
            ready: "READY>\\\\s*\\\\z"
        routing:
          default: webecho
        notifications:
          desktop: false
        """))
    return cfg


@contextlib.contextmanager
def serving(tmp_path: Path, tmux_socket: str) -> Iterator[Served]:
    """`laneboard serve --port 0` in its own session; stopped with SIGTERM afterwards.

    On the way out the whole stdout (the URL line included) and stderr are kept on the
    `Served`, so a test can check where the token went.
    """
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("TMUX", None)
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard.cli", "--config", str(write_config(tmp_path)),
         "serve", "--port", "0"],
        cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # blocks until the server listens (or the process dies)
    m = re.search(r"open (http://\S+)", first)
    if not m:
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        raise AssertionError(f"no URL printed: {first!r}; stderr: {err}")
    served = Served(proc, m.group(1))
    try:
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rest, served.err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, served.err = proc.communicate(timeout=30)
        served.out = first + rest


def chromium_options(profile: Path) -> webdriver.ChromeOptions:
    """Headless Chromium with a private profile, recording network events.

    `--no-sandbox` only when running as root: Chromium refuses to start its sandbox as
    root, and nowhere else is the sandbox given up.
    """
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.add_argument("--headless=new")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1400,900")
    options.add_argument("--no-first-run")
    options.add_argument("--no-default-browser-check")
    options.add_argument("--disable-background-networking")
    options.add_argument("--disable-component-update")
    options.add_argument("--disable-sync")
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return options


@contextlib.contextmanager
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """A real headless Chromium through chromedriver, quit afterwards (all its processes)."""
    if CHROMEDRIVER is None or not Path(CHROMIUM).exists():
        pytest.fail("chromium and chromium-driver are test dependencies (scripts/test.sh "
                    "installs them): not found on PATH")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    # The driver is named, so Selenium Manager never runs (it would reach the network).
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=chromium_options(profile))
    try:
        driver.set_page_load_timeout(120)
        driver.set_script_timeout(60)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def network_events(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The DevTools Network.* events recorded since the last call."""
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if str(message.get("method", "")).startswith("Network."):
            events.append(message)
    return events


def document_status(events: list[dict[str, Any]], url: str) -> int | None:
    """The HTTP status the browser got for the document at `url`."""
    for event in events:
        if event["method"] == "Network.responseReceived":
            response = event["params"]["response"]
            if event["params"].get("type") == "Document" and response["url"] == url:
                return int(response["status"])
    return None


def plain_status(url: str) -> int:
    """The HTTP status of a plain GET, alongside the browser."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def screen_text(driver: webdriver.Chrome) -> str:
    """What the page's xterm.js terminal holds (the cells its renderer draws)."""
    text = driver.execute_script(READ_SCREEN)
    return text if isinstance(text, str) else ""


def wait_screen(driver: webdriver.Chrome, needle: str, timeout: float = 90) -> str:
    """Wait until `needle` (a regular expression) is on the browser's terminal."""
    try:
        wait_until(lambda: re.search(needle, screen_text(driver)), timeout=timeout, interval=0.2)
    except AssertionError:
        raise AssertionError(f"{needle!r} not on the page's terminal:\n{screen_text(driver)}") \
            from None
    return screen_text(driver)


# The lane table: its header, then one row per lane (name, role) in the configured order.
LANE_TABLE = (r"│ lane +role +state +[^\n]*\n"
              r"│ webecho +orch +[^\n]*\n"
              r"│ webother +helper +")


def lane_pane_text(socket: str, lane: str) -> str:
    """The pane of `lane` (its tmux window bears the lane's name), "" while it has none."""
    rows = subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F",
                           "#{window_name}\t#{pane_id}"],
                          capture_output=True, text=True, check=False).stdout.splitlines()
    panes = [pane for name, _, pane in (r.partition("\t") for r in rows) if name == lane]
    return "\n".join(
        subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", p],
                       capture_output=True, text=True, check=False).stdout
        for p in panes
    )


def all_panes(socket: str) -> str:
    """Every pane with its window's name (for failure messages)."""
    return subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F",
                           "#{session_name}:#{window_name} #{pane_id} #{pane_current_command}"],
                          capture_output=True, text=True, check=False).stdout + pane_text(socket)


def pane_text(socket: str) -> str:
    """Every pane of the private tmux server, as tmux shows it."""
    panes = subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F", "#{pane_id}"],
                           capture_output=True, text=True, check=False).stdout.split()
    return "\n".join(
        subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", p],
                       capture_output=True, text=True, check=False).stdout
        for p in panes
    )


def token_pieces(token: str) -> list[str]:
    """The token and its halves: no part of it may show up where it must not."""
    half = len(token) // 2
    return [token, token[:half], token[half:]]


def files_holding(root: Path, pieces: list[str]) -> list[Path]:
    """Files under `root` whose bytes hold any of `pieces`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(p.encode() in data for p in pieces):
                found.append(path)
    return found


def test_the_cockpit_in_a_real_browser(tmp_path: Path, tmux_socket: str) -> None:
    with serving(tmp_path, tmux_socket) as served, chromium(tmp_path) as driver:
        # 1. the tokened URL loads the page, which shows the cockpit's lane table
        driver.get(served.url)
        assert document_status(network_events(driver), served.url) == 200
        assert driver.find_elements(By.CSS_SELECTOR, ".textual-terminal .xterm")
        screen = wait_screen(driver, LANE_TABLE)
        wait_until(lambda: "-first-byte" in (driver.find_element(By.TAG_NAME, "body")
                                             .get_attribute("class") or ""), timeout=30)
        assert driver.find_element(By.ID, "terminal").is_displayed()
        assert re.search(LANE_TABLE, screen), screen
        # the page runs under its content security policy without tripping it
        console = [e["message"] for e in driver.get_log("browser")]
        assert not [m for m in console if "Content Security Policy" in m], console

        # 2. a prompt typed into the page reaches the (default) lane's pane, and only it
        # (as a person would: once the table says the lane is ready — a prompt typed while
        # the cockpit is still starting its lanes fails with "not started")
        wait_screen(driver, r"│ webecho +orch +● ready", timeout=90)
        keyboard = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        keyboard.send_keys("olleh-from-chromium")
        wait_screen(driver, "olleh-from-chromium", timeout=30)  # echoed in the prompt box
        keyboard.send_keys(Keys.ENTER)
        try:
            wait_until(lambda: "answer: muimorhc-morf-hello"
                       in lane_pane_text(tmux_socket, "webecho"), timeout=90)
        except AssertionError:
            raise AssertionError(f"the prompt did not reach webecho's pane; panes:\n"
                                 f"{all_panes(tmux_socket)}\nscreen:\n{screen_text(driver)}") \
                from None
        assert "muimorhc" not in lane_pane_text(tmux_socket, "webother")

        # 3. without the token, and with a wrong one, nothing: 404 and no cockpit
        for path in ("/", f"/{served.wrong_token()}/", f"/{served.token[:20]}/",
                     f"/{served.token}"):
            url = served.base + path
            driver.get(url)
            assert document_status(network_events(driver), url) == 404, path
            assert plain_status(url) == 404, path
            assert not driver.find_elements(By.CSS_SELECTOR, ".textual-terminal"), path
            assert driver.execute_script("return window.__laneboardTerminal || null") is None
            assert "webecho" not in driver.page_source

    # 4. the token left the serve process once: the URL line on stdout
    pieces = token_pieces(served.token)
    assert served.out.count(served.token) == 1, served.out
    assert sum(served.out.count(p) for p in pieces[1:]) == 2  # the halves of that one URL
    assert not any(p in served.err for p in pieces), served.err
    assert files_holding(tmp_path / "state", pieces) == []
    assert served.proc.returncode == 0, served.err


def test_quitting_the_cockpit_ends_the_session_and_restart_brings_it_back(
    tmp_path: Path, tmux_socket: str
) -> None:
    """The page's own "Session ended" dialog and its Restart button work under the page's
    content security policy (they are wired by a nonce'd script, not inline handlers), and
    the lanes outlive the browser's cockpit, as they outlive a terminal one."""
    with serving(tmp_path, tmux_socket) as served, chromium(tmp_path) as driver:
        driver.get(served.url)
        wait_screen(driver, r"│ webecho +orch +● ready", timeout=90)
        lane_pid = _lane_pid(tmux_socket, "webecho")
        closed = driver.find_element(By.CSS_SELECTOR, ".closed-dialog")
        assert not closed.is_displayed()

        driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(
            Keys.CONTROL, "q")
        wait_until(lambda: closed.is_displayed(), timeout=60)
        assert "Session ended." in closed.text

        closed.find_element(By.CSS_SELECTOR, "button.restart").click()
        wait_until(lambda: driver.execute_script(
            "return document.readyState === 'complete' && !!window.__laneboardTerminal "
            "&& !document.body.classList.contains('-closed')"), timeout=60)
        wait_screen(driver, LANE_TABLE)
        wait_screen(driver, r"│ webecho +orch +● ready", timeout=90)
        assert driver.current_url == served.url
        assert _lane_pid(tmux_socket, "webecho") == lane_pid  # the same lane process, adopted


def _lane_pid(socket: str, lane: str) -> str:
    rows = subprocess.run(["tmux", "-L", socket, "list-panes", "-a", "-F",
                           "#{window_name}\t#{pane_pid}"],
                          capture_output=True, text=True, check=False).stdout.splitlines()
    pids = [pid for name, _, pid in (r.partition("\t") for r in rows) if name == lane]
    assert len(pids) == 1, rows
    return pids[0]
