"""`laneboard send` to a codex exec lane gives that run laneboard's MCP server too.

The promise: a lane allowed to delegate can delegate whichever laneboard process starts
it. A codex exec lane is a fresh `codex exec` started by the process that sends the
prompt — a separate `laneboard send`, not the supervisor — so that process must find the
running supervisor's control socket (state dir) and compute the lane's token (an HMAC
under the state dir's key) itself. Without a running supervisor it says so, in one line
on stderr, and the lane runs without the tools.

Real parts: a real `laneboard up --headless` process on a private tmux socket (its
`worker` a real command lane in tmux), a real `laneboard send` process, the pinned
`codex` 0.169.0 it starts as `main` (`codex exec`) — and `claude` 2.1.328 as `sage`
(`claude -p`) — and the `laneboard mcp` they start.
Only the model is a stand-in (scripted to call `delegate`). The fast tests check the
attachment itself against a real control server listening in this process: the sender
computes exactly what the server hands its own lanes, and a stale socket attaches nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from laneboard.standins import Reply, StandinServer
from tests.fixtures.conductor import LANE_SCRIPT
from tests.fixtures.tmux import wait_until

needs_codex = pytest.mark.usefixtures("codex_binary")
needs_claude = pytest.mark.usefixtures("claude_binary")

NOTE = "runs without laneboard's MCP server"


@dataclass
class Setup:
    config: Path
    workspace: Path
    env: dict[str, str]
    state: Path

    def laneboard(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "laneboard", "--config", str(self.config),
                               *args], cwd=self.workspace, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)


def _lead(tmp: Path, ws: Path) -> str:
    """An interactive codex orchestrator (a pane in tmux, started by whoever starts it)."""
    home = tmp / "codex-home-lead"
    home.mkdir()
    return ("  lead:\n    role: orchestrator\n    harness: codex\n    model: big\n"
            f"    fence: read-only\n    cwd: {ws}\n    delegates: [worker]\n"
            "    delegate_wider: [worker]\n"
            f"    env: {{CODEX_HOME: {home}, LB_TEST_OPENAI_KEY: sk-standin}}\n")


def _sage(tmp: Path, ws: Path) -> str:
    """A headless claude orchestrator (`claude -p`, one process per prompt, plan fence)."""
    from laneboard.harnesses.claude.launch import seed_isolated_config
    from tests.fixtures.lanes import CLAUDE_KEY

    claude_dir = tmp / "claude-config"
    seed_isolated_config(claude_dir, ws, api_key=CLAUDE_KEY)
    return ("  sage:\n    role: orchestrator\n    harness: claude-code\n    mode: exec\n"
            f"    model: judge\n    fence: plan\n    cwd: {ws}\n    delegates: [worker]\n"
            "    delegate_wider: [worker]\n"
            f"    env: {{CLAUDE_CONFIG_DIR: \"{claude_dir}\", CLAUDE_CODE_MAX_RETRIES: \"2\", "
            f"LB_TEST_ANTHROPIC_KEY: \"{CLAUDE_KEY}\"}}\n")


def _config(tmp: Path, ws: Path, base_url: str, anthropic_url: str, *,
            lead: bool = False) -> Path:
    home = tmp / "codex-home"
    home.mkdir()
    cfg = tmp / "laneboard.yaml"
    cfg.write_text(
        "version: 1\ntmux: {session: lbsa}\n"
        f"providers:\n  standin: {{harness: codex, base_url: \"{base_url}\", "
        "api_key_env: LB_TEST_OPENAI_KEY}\n"
        f"  anthropic: {{harness: claude-code, base_url: \"{anthropic_url}\", "
        "api_key_env: LB_TEST_ANTHROPIC_KEY}\n"
        "models:\n  standin/gpt-standin: {alias: big, tier: orchestrator}\n"
        "  anthropic/claude-standin-1: {alias: judge, tier: orchestrator}\n"
        "lanes:\n"
        "  main:\n    role: orchestrator\n    harness: codex\n    mode: exec\n    model: big\n"
        f"    fence: read-only\n    cwd: {ws}\n    delegates: [worker]\n"
        "    delegate_wider: [worker]\n"
        f"    env: {{CODEX_HOME: {home}, LB_TEST_OPENAI_KEY: sk-standin}}\n"
        "  worker:\n    role: coder\n    harness: command\n"
        f"    command: [{sys.executable}, -u, {LANE_SCRIPT}]\n"
        "    ready: \"READY>\\\\s*\\\\Z\"\n    fence: full\n"
        f"    cwd: {ws}\n    env: {{LANEBOARD_LANE: worker, "
        f"PYTHONPATH: {Path(__file__).parents[1]}}}\n"
        + _sage(tmp, ws)
        + (_lead(tmp, ws) if lead else "")
        + "routing:\n  default: main\n"
        f"artifacts: {{dir: {tmp / 'artifacts'}}}\n"
    )
    return cfg


@pytest.fixture
def lead() -> bool:
    """Whether the config has the interactive `lead` lane (a test may parametrize it)."""
    return False


@pytest.fixture
def setup(
    tmux_socket: str, tmp_path: Path, standin: StandinServer, lead: bool
) -> Iterator[Setup]:
    # A short state dir: the control socket's path must fit a unix socket (107 bytes).
    state = Path(tempfile.mkdtemp(prefix="lbs"))
    os.chmod(state, 0o700)
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    subprocess.run(["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    env = {**os.environ, "LANEBOARD_TMUX_SOCKET": tmux_socket, "LANEBOARD_STATE_DIR": str(state),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("LANEBOARD_CONFIG", None)
    s = Setup(_config(tmp_path, ws, standin.openai_base_url, standin.url, lead=lead), ws, env,
              state)
    try:
        yield s
    finally:
        s.laneboard("lanes", "stop", "--all", timeout=60)
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def supervisor(s: Setup, *ready_lanes: str) -> Iterator[subprocess.Popen[str]]:
    """A real `laneboard up --headless`, until its control socket listens and `worker` (and
    `ready_lanes`) are ready; stopped (SIGINT, then kill) afterwards."""
    wanted = {"worker", *ready_lanes}
    proc = subprocess.Popen(
        [sys.executable, "-m", "laneboard", "--config", str(s.config), "up", "--headless"],
        cwd=s.workspace, env=s.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        def ready() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            if not any(s.state.rglob("ctl-*.sock")):  # the state dir is short: no fallback
                return False
            done = s.laneboard("lanes", "status", "--json", timeout=60)
            if done.returncode != 0:
                return False
            doc = json.loads(done.stdout)
            rows = doc["lanes"] if isinstance(doc, dict) else doc
            return wanted <= {r.get("id") for r in rows if r.get("state") == "ready"}

        wait_until(ready, timeout=120, interval=0.3)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _outputs(body: Any) -> list[str]:
    """The function-call outputs a Responses request carries back to the model."""
    items = body.get("input") if isinstance(body, dict) else None
    found = []
    for item in items or []:
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            out = item.get("output")
            found.append(out if isinstance(out, str) else json.dumps(out))
    return found


def _laneboard_tools(body: Any) -> list[str]:
    tools = body.get("tools") if isinstance(body, dict) else None
    return [str(x.get("name")) for t in tools or [] if isinstance(t, dict)
            and t.get("type") == "namespace" and t.get("name") == "mcp__laneboard"
            for x in t.get("tools", []) if isinstance(x, dict)]


@needs_codex
@pytest.mark.tmux
@pytest.mark.slow
def test_send_to_a_codex_exec_lane_attaches_the_running_conductor(
    setup: Setup, standin: StandinServer
) -> None:
    standin.script(
        Reply.tool_call("delegate", {"task": "count the parsers", "lane": "worker"},
                        call_id="call_s1", namespace="mcp__laneboard"),
        Reply.text("main: the worker counted them"),
        dialect="responses",
    )
    with supervisor(setup):
        done = setup.laneboard("send", "main", "how many parsers are there", "--json")
    calls = standin.calls("responses")
    assert done.returncode == 0, (done.stdout, done.stderr, [c.body for c in calls])
    assert NOTE not in done.stderr, done.stderr
    doc = json.loads(done.stdout)
    assert doc["state"] == "done" and doc["reply"] == "main: the worker counted them", doc
    # codex (started by `laneboard send`, not by the supervisor) had laneboard's tools…
    assert "delegate" in _laneboard_tools(calls[0].body), calls[0].body.get("tools")
    # …and the delegation ran in the supervisor's worker: its answer is the tool result.
    outputs = _outputs(calls[-1].body)
    assert any("answer[worker]: count the parsers" in o for o in outputs), outputs
    # The hop is on record (an artifact with its run), rebuilt by `laneboard runs`.
    def listed() -> list[dict[str, Any]]:
        out = setup.laneboard("runs", "list", "--json", timeout=60)
        assert out.returncode == 0, out.stderr
        return list(json.loads(out.stdout)["runs"])

    wait_until(lambda: len(listed()) == 1, timeout=30, interval=0.3)


@needs_codex
@pytest.mark.tmux
@pytest.mark.slow
def test_send_without_a_supervisor_says_the_lane_has_no_conductor(
    setup: Setup, standin: StandinServer
) -> None:
    standin.script(Reply.text("main: on my own"), dialect="responses")
    done = setup.laneboard("send", "main", "how many parsers are there", "--json")
    calls = standin.calls("responses")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert json.loads(done.stdout)["reply"] == "main: on my own"
    notes = [line for line in done.stderr.splitlines() if NOTE in line]
    assert len(notes) == 1, done.stderr
    assert "no supervisor is running" in notes[0] and "laneboard up --headless" in notes[0]
    assert _laneboard_tools(calls[0].body) == []  # codex got no laneboard server at all
    # A lane that may not delegate has nothing to miss: no note.
    plain = setup.laneboard("send", "worker", "hello there", "--json")
    assert plain.returncode == 0, plain.stderr
    assert NOTE not in plain.stderr


def _mcp_servers_of(lane: str, socket_dir: Path) -> set[int]:
    """Pids of running `laneboard mcp` servers given to `lane` with a control socket under
    `socket_dir` (read from /proc: what codex really started)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"laneboard\0mcp" not in cmdline or f"LANEBOARD_LANE={lane}".encode() not in environ:
            continue
        sock = next((v for v in environ if v.startswith(b"LANEBOARD_CONTROL_SOCKET=")), b"")
        if sock.partition(b"=")[2].startswith(os.fsencode(socket_dir)):
            found.add(int(entry))
    return found


@needs_codex
@pytest.mark.tmux
@pytest.mark.slow
@pytest.mark.parametrize("lead", [True])
def test_lanes_restart_from_another_terminal_keeps_the_conductor(
    setup: Setup, standin: StandinServer
) -> None:
    """`laneboard lanes restart lead` in a second process while `up` supervises: the new
    codex pane gets laneboard's MCP server again (it used to come back without it)."""
    with supervisor(setup, "lead"):
        wait_until(lambda: bool(_mcp_servers_of("lead", setup.state)), timeout=90, interval=0.3)
        before = _mcp_servers_of("lead", setup.state)
        done = setup.laneboard("lanes", "restart", "lead", "--json")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert NOTE not in done.stderr, done.stderr
        wait_until(lambda: bool(_mcp_servers_of("lead", setup.state) - before), timeout=90,
                   interval=0.3)


@needs_codex
@pytest.mark.tmux
@pytest.mark.slow
@pytest.mark.parametrize("lead", [True])
def test_send_to_an_interactive_codex_orchestrator_delegates(
    setup: Setup, standin: StandinServer
) -> None:
    """The default config's shape: an interactive codex `lead` in a pane `up` started
    (with laneboard's MCP server), a prompt from a separate `laneboard send --wait`; the
    model calls `delegate`, and the worker's answer comes back as the tool result."""
    with supervisor(setup, "lead"):
        standin.script(
            Reply.tool_call("delegate", {"task": "list the parsers", "lane": "worker"},
                            call_id="call_i1", namespace="mcp__laneboard"),
            Reply.text("lead: the worker listed them"),
            dialect="responses",
        )
        done = setup.laneboard("send", "lead", "which parsers exist", "--wait", "--json")
    calls = standin.calls("responses")
    assert done.returncode == 0, (done.stdout, done.stderr, [c.body for c in calls])
    assert json.loads(done.stdout)["reply"] == "lead: the worker listed them"
    assert "delegate" in _laneboard_tools(calls[0].body)
    outputs = _outputs(calls[-1].body)
    assert any("answer[worker]: list the parsers" in o for o in outputs), outputs


@needs_claude
@pytest.mark.tmux
@pytest.mark.slow
def test_send_to_a_headless_claude_orchestrator_attaches_the_running_conductor(
    setup: Setup, standin: StandinServer
) -> None:
    """The same for `claude -p` (plan fence) run by a separate `laneboard send`: it gets
    `--mcp-config` with the running supervisor's socket, calls `delegate` with no prompt
    answered, and the worker's answer is the tool result."""
    standin.script(
        Reply.tool_call("mcp__laneboard__delegate", {"task": "name the parsers",
                                                     "lane": "worker"}, call_id="h1"),
        Reply.text("sage: the worker named them"),
        dialect="anthropic",
    )
    with supervisor(setup):
        done = setup.laneboard("send", "sage", "which parsers exist", "--json")
    calls = [c for c in standin.calls("anthropic") if isinstance(c.body, dict)]
    assert done.returncode == 0, (done.stdout, done.stderr, len(calls))
    assert NOTE not in done.stderr, done.stderr
    assert json.loads(done.stdout)["reply"] == "sage: the worker named them"
    results = [b for c in calls for m in c.body.get("messages") or []
               if isinstance(m.get("content"), list) for b in m["content"]
               if isinstance(b, dict) and b.get("tool_use_id") == "toolu_h1"]
    assert results and not results[0].get("is_error"), results
    assert "answer[worker]: name the parsers" in json.dumps(results[0])


# -- the attachment itself, against a real control server in this process ----------------

FAST_CONFIG = """\
version: 1
tmux: {{session: lbsf}}
lanes:
  main: {{role: orchestrator, harness: command, command: [cat], delegates: [helper]}}
  pool: {{role: coder, harness: command, command: [cat], replicas: 2, delegates: [helper]}}
  helper: {{role: helper, harness: command, command: [cat]}}
artifacts: {{dir: {artifacts}}}
"""


@pytest.fixture
def short_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = Path(tempfile.mkdtemp(prefix="lbf"))
    os.chmod(state, 0o700)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(state))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", f"lb-test-attach-{os.getpid()}")
    try:
        yield state
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _supervisor(tmp_path: Path) -> Any:
    from laneboard.config import parse_config
    from laneboard.lanes.supervisor import Supervisor

    text = FAST_CONFIG.format(artifacts=tmp_path / "artifacts")
    return Supervisor(parse_config(text.encode(), "cfg.yaml"), workspace=tmp_path)


async def test_the_sender_attaches_what_the_server_hands_its_own_lanes(
    short_state: Path, tmp_path: Path
) -> None:
    from laneboard.conductor import start_control_server
    from laneboard.conductor.attach import attach_running

    owner, sender = _supervisor(tmp_path), _supervisor(tmp_path)
    control = await start_control_server(owner)
    try:
        assert await attach_running(sender, "main") is None
        assert sender.conductor == {"main": owner.conductor["main"]}
        assert await attach_running(sender, "pool") is None  # a group: every replica
        assert sender.conductor == owner.conductor
        assert await attach_running(sender, "helper") is None  # may not delegate: nothing
        assert "helper" not in sender.conductor
    finally:
        await control.close()
        await owner.close()
        await sender.close()


async def test_a_dead_supervisors_socket_attaches_nothing(
    short_state: Path, tmp_path: Path
) -> None:
    """A supervisor killed with SIGKILL leaves its socket file behind: nothing listens, so
    the lane gets no server (its tools would only fail) and the sender says why."""
    import socket as socketlib

    from laneboard.conductor.attach import attach_running
    from laneboard.conductor.protocol import control_socket_path

    sender = _supervisor(tmp_path)
    try:
        path = control_socket_path(sender.socket, sender.session)
        leftover = socketlib.socket(socketlib.AF_UNIX)
        leftover.bind(str(path))  # bound, never listening, then closed: a stale file
        leftover.close()
        assert path.exists()
        note = await attach_running(sender, "main")
        assert note is not None and "no supervisor is running" in note, note
        assert "\n" not in note and sender.conductor == {}
        assert not (short_state / "conductor.key").exists()  # nothing created for nothing
        assert await attach_running(sender, "helper") is None  # nothing to miss: no note
    finally:
        await sender.close()


@pytest.mark.tmux
async def test_a_cockpit_beside_a_supervisor_attaches_its_conductor(
    short_state: Path, tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cockpit opened while another process supervises the session serves no control
    server of its own, yet starts and restarts lanes: those get the running one's."""
    from laneboard.conductor import start_control_server
    from laneboard.config import parse_config
    from laneboard.lanes.published import SupervisorLock
    from laneboard.tui.app import make_app
    from tests.fixtures.tmux import async_wait_until

    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    loaded = parse_config(FAST_CONFIG.format(artifacts=tmp_path / "artifacts").encode(), "c.yaml")
    owner = _supervisor(tmp_path)
    lock = SupervisorLock(owner.socket, owner.session)
    lock.acquire()
    control = await start_control_server(owner)
    try:
        app = make_app(loaded, workspace=tmp_path, motion=False)
        async with app.run_test(size=(100, 30)):
            await async_wait_until(lambda: app.supervisor.supervised_by is not None
                                   and bool(app.supervisor.conductor), timeout=30)
            assert app.supervisor.conductor == owner.conductor
            assert set(owner.conductor) == {"main", "pool-1", "pool-2"}
            await async_wait_until(lambda: all(rt.state == "ready" for rt in
                                               app.supervisor.lanes.values()), timeout=60)
    finally:
        await control.close()
        lock.release()
        await owner.close()
