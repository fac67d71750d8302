"""The conductor with a REAL agent CLI as the orchestrator: laneboard attaches its MCP
server to the lane, the model (a stand-in endpoint, scripted) calls laneboard's
`delegate` tool, the delegate (a real command lane in tmux) answers, and the stand-in
then sees that answer inside the orchestrator's next request — the tool result.

Real parts: the pinned `codex` 0.169.0 (`codex exec` as `main`, given
`-c mcp_servers.laneboard=…` by laneboard's own argv builder), the real `laneboard mcp`
that codex starts, the control server inside a real in-process `Supervisor`, and the
conductor's command-lane program in a private tmux server. Only the model is a stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from laneboard.conductor import ControlServer, start_control_server
from laneboard.config import load_config as load_file
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer
from tests.fixtures.conductor import LANE_SCRIPT
from tests.fixtures.tmux import async_wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

needs_codex = pytest.mark.usefixtures("codex_binary")


@dataclass
class Conducted:
    sup: Supervisor
    control: ControlServer
    workspace: Path


def _config(tmp: Path, ws: Path, base_url: str) -> Path:
    home = tmp / "codex-home"
    home.mkdir()
    cfg = tmp / "laneboard.yaml"
    cfg.write_text(
        "version: 1\ntmux: {session: lbcx}\n"
        f"providers:\n  standin: {{harness: codex, base_url: \"{base_url}\", "
        "api_key_env: LB_TEST_OPENAI_KEY}\n"
        "models:\n  standin/gpt-standin: {alias: big, tier: orchestrator}\n"
        "lanes:\n"
        "  main:\n    role: orchestrator\n    harness: codex\n    mode: exec\n    model: big\n"
        f"    fence: read-only\n    cwd: {ws}\n    delegate_wider: [coder]\n"
        f"    env: {{CODEX_HOME: {home}, LB_TEST_OPENAI_KEY: sk-standin}}\n"
        "  coder:\n    role: coder\n    harness: command\n"
        f"    command: [{sys.executable}, -u, {LANE_SCRIPT}]\n"
        "    ready: \"READY>\\\\s*\\\\Z\"\n    fence: full\n"
        f"    cwd: {ws}\n    env: {{LANEBOARD_LANE: coder, "
        f"PYTHONPATH: {Path(__file__).parents[1]}}}\n"
        "routing:\n  default: main\n"
        f"artifacts: {{dir: {tmp / 'artifacts'}}}\n"
    )
    return cfg


@pytest.fixture
async def conducted(
    tmux_socket: str, tmp_path: Path, standin: StandinServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Conducted]:
    # A short state dir: the control socket's path must fit a unix socket (107 bytes).
    state = Path(tempfile.mkdtemp(prefix="lbx"))
    os.chmod(state, 0o700)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(state))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    subprocess.run(["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    cfg = _config(tmp_path, ws, standin.openai_base_url)
    sup = Supervisor(load_file(str(cfg)), workspace=ws)
    control = await start_control_server(sup)
    try:
        await sup.start()
        yield Conducted(sup, control, ws)
    finally:
        await control.close()
        for rt in list(sup.lanes.values()):
            if rt.harness is not None:
                await rt.harness.stop()
        await sup.close()
        shutil.rmtree(state, ignore_errors=True)


def _outputs(body: Any) -> list[str]:
    """The function-call outputs a Responses request carries back to the model."""
    items = body.get("input") if isinstance(body, dict) else None
    found = []
    for item in items or []:
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            out = item.get("output")
            found.append(out if isinstance(out, str) else json.dumps(out))
    return found


@needs_codex
async def test_codex_main_delegates_through_laneboard_mcp(
    conducted: Conducted, standin: StandinServer
) -> None:
    spec = conducted.sup.spec_for(conducted.sup.lanes["main"])
    assert spec.control_socket == str(conducted.control.path) and spec.lane_token
    assert "coder" not in conducted.sup.conductor  # a coder without delegates gets no server
    standin.script(
        Reply.tool_call("delegate", {"task": "write the parser", "lane": "coder"},
                        call_id="call_d1", namespace="mcp__laneboard"),
        Reply.text("main: the coder wrote it"),
        dialect="responses",
    )
    turn = await conducted.sup.send("main", "get the parser written", timeout=180)
    calls = standin.calls("responses")
    assert turn.state == "done", (turn.error, [c.body for c in calls])
    assert turn.reply == "main: the coder wrote it"
    # laneboard's server was attached, and codex waited for its tools before asking.
    spaces = {t.get("name"): [x.get("name") for x in t.get("tools", [])]
              for t in calls[0].body["tools"] if t.get("type") == "namespace"}
    assert "delegate" in spaces.get("mcp__laneboard", []), spaces
    # The stand-in sees the delegated answer inside main's next request: the tool result.
    outputs = _outputs(calls[-1].body)
    assert any("answer[coder]: write the parser" in o for o in outputs), outputs
    # The hop was recorded by the control server, with its run, as main → coder.
    [run] = conducted.control.runs.values()
    [hop] = [conducted.control.hops[h] for h in run.hops]
    assert (hop.caller, hop.lane, hop.state) == ("main", "coder", "done")
    artifact = hop.artifact
    assert artifact  # named in the reply, written right after it
    await async_wait_until(lambda: Path(artifact).is_file(), timeout=10)


def test_claude_argv_attaches_only_laneboard_and_grants_only_its_tools(tmp_path: Path) -> None:
    """A claude lane that may delegate: `--mcp-config` (0600, holding its token) with
    `--strict-mcp-config` once, laneboard's tools pre-allowed and nothing else; a lane
    without the conductor fields gets no MCP flags beyond its fence's."""
    import stat

    from laneboard.harnesses.base import HarnessSpec
    from laneboard.harnesses.claude.launch import build_argv, conductor_config

    plain = HarnessSpec(lane="review", harness="claude-code", fence="plan")
    assert conductor_config(plain, tmp_path) is None
    assert "--mcp-config" not in build_argv(plain, binary="claude")
    spec = HarnessSpec(lane="main", harness="claude-code", fence="plan",
                       control_socket="/run/x/ctl.sock", lane_token="t0k")
    assert "t0k" not in repr(spec)  # the token is never printed with the spec
    path = conductor_config(spec, tmp_path / "hooks")
    assert path is not None and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(Path(path).read_text())
    server = doc["mcpServers"]["laneboard"]
    assert server["env"]["LANEBOARD_LANE_TOKEN"] == "t0k"
    assert server["args"] == ["-m", "laneboard", "mcp"]
    argv = build_argv(spec, binary="claude", mcp_config=path, prompt="hi", headless=True)
    assert argv.count("--strict-mcp-config") == 1
    assert argv[argv.index("--mcp-config") + 1] == path
    assert argv[argv.index("--allowedTools") + 1] == "mcp__laneboard__*"
    assert "--dangerously-skip-permissions" not in argv
    assert argv[-2:] == ["--", "hi"]
