"""The conductor with a REAL Claude Code as the orchestrator: laneboard attaches its MCP
server to an interactive claude lane, the model (a stand-in Anthropic endpoint, scripted)
answers with a `tool_use` of `mcp__laneboard__delegate`, the delegate (a real command lane
in tmux) answers, and the stand-in then sees that answer inside the `tool_result` of
main's next request. A delegation the policy refuses comes back as an error tool result
that names the rule.

Real parts: the pinned `claude` 2.1.328 in a tmux pane on a private socket (as laneboard
runs it: `--mcp-config … --strict-mcp-config --allowedTools mcp__laneboard__*`, plan fence,
laneboard's PreToolUse hook, through laneboard's gateway), the real `laneboard mcp` that
Claude Code starts from that config, the control server inside a real in-process
`Supervisor`, and the conductor's command-lane program. Only the model is a stand-in.
Nobody answers a permission prompt: laneboard never does, and the test does not either —
the tool runs because laneboard pre-allowed its own tools, or the turn does not finish.
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
from laneboard.harnesses.claude.launch import seed_isolated_config
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer
from tests.fixtures.conductor import LANE_SCRIPT
from tests.fixtures.lanes import CLAUDE_KEY
from tests.fixtures.tmux import async_wait_until


def needs_claude(test: Any) -> Any:
    """A test of the real claude in tmux: skipped without it, slow."""
    skip = pytest.mark.usefixtures("claude_binary")
    return skip(pytest.mark.tmux(pytest.mark.slow(test)))

DELEGATE = "mcp__laneboard__delegate"


@dataclass
class Conducted:
    sup: Supervisor
    control: ControlServer
    workspace: Path


def _command_lane(name: str, role: str, ws: Path) -> str:
    return (
        f"  {name}:\n    role: {role}\n    harness: command\n"
        f"    command: [{sys.executable}, -u, {LANE_SCRIPT}]\n"
        "    ready: \"READY>\\\\s*\\\\Z\"\n    fence: full\n"
        f"    cwd: {ws}\n    env: {{LANEBOARD_LANE: {name}, "
        f"PYTHONPATH: {Path(__file__).parents[1]}}}\n"
    )


def _reviewer(tmp: Path, ws: Path) -> str:
    """A plan-mode Claude Code reviewer lane on the same stand-in (its own config dir)."""
    claude_dir = tmp / "claude-review"
    seed_isolated_config(claude_dir, ws, api_key=CLAUDE_KEY)
    return ("  review:\n    role: reviewer\n    harness: claude-code\n    model: judge\n"
            f"    fence: plan\n    cwd: {ws}\n"
            f"    env: {{CLAUDE_CONFIG_DIR: \"{claude_dir}\", CLAUDE_CODE_MAX_RETRIES: \"2\", "
            f"LB_TEST_ANTHROPIC_KEY: \"{CLAUDE_KEY}\"}}\n")


def _config(tmp: Path, ws: Path, base_url: str, fence: str, reviewer: bool = False) -> Path:
    claude_dir = tmp / "claude-config"  # outside the workspace: a plan lane's tree is checked
    seed_isolated_config(claude_dir, ws, api_key=CLAUDE_KEY)
    # A user-scope MCP server of the person's own ("intruder"): --strict-mcp-config (and,
    # in plan mode, --restricted) must keep it away from the lane.
    user = claude_dir / ".claude.json"
    doc = json.loads(user.read_text())
    doc["mcpServers"] = {"intruder": {"type": "stdio", "command": sys.executable,
                                      "args": ["-m", "laneboard", "mcp"]}}
    user.write_text(json.dumps(doc))
    cfg = tmp / "laneboard.yaml"
    cfg.write_text(
        "version: 1\ntmux: {session: lbcl}\n"
        f"providers:\n  anthropic: {{harness: claude-code, base_url: \"{base_url}\", "
        "api_key_env: LB_TEST_ANTHROPIC_KEY}\n"
        "models:\n  anthropic/claude-standin-1: {alias: big, tier: orchestrator}\n"
        "  anthropic/claude-standin-judge: {alias: judge, tier: escalation}\n"
        "lanes:\n"
        "  main:\n    role: orchestrator\n    harness: claude-code\n    model: big\n"
        f"    fence: {fence}\n    worktree: false\n    cwd: {ws}\n"
        f"    delegates: [coder, writer{', review' if reviewer else ''}]\n"
        "    delegate_wider: [coder]\n"
        f"    env: {{CLAUDE_CONFIG_DIR: \"{claude_dir}\", CLAUDE_CODE_MAX_RETRIES: \"2\", "
        f"LB_TEST_ANTHROPIC_KEY: \"{CLAUDE_KEY}\"}}\n"
        + _command_lane("coder", "coder", ws)
        + _command_lane("helper", "helper", ws)
        + _command_lane("writer", "coder", ws)  # writable, in delegates, not delegate_wider
        + (_reviewer(tmp, ws) if reviewer else "")
        + "routing:\n  default: main\n"
        f"artifacts: {{dir: {tmp / 'artifacts'}}}\n"
    )
    return cfg


@pytest.fixture
def fence() -> str:
    """main's fence (a test may parametrize it): plan, as a fenced orchestrator runs."""
    return "plan"


@pytest.fixture
def reviewer() -> bool:
    """Whether the config has a real claude `review` lane (a test may parametrize it)."""
    return False


@pytest.fixture
async def conducted(
    tmux_socket: str, tmp_path: Path, standin: StandinServer, monkeypatch: pytest.MonkeyPatch,
    fence: str, reviewer: bool,
) -> AsyncIterator[Conducted]:
    # A short state dir: the control socket's path must fit a unix socket (107 bytes).
    state = Path(tempfile.mkdtemp(prefix="lbq"))
    os.chmod(state, 0o700)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(state))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", tmux_socket)
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    subprocess.run(["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    cfg = _config(tmp_path, ws, standin.url, fence, reviewer)
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


def _tool_results(body: Any) -> list[tuple[bool, str]]:
    """(is_error, text) of every `tool_result` block a Messages request carries back."""
    found = []
    messages = body.get("messages") if isinstance(body, dict) else None
    for msg in messages or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            inner = block.get("content")
            if isinstance(inner, list):
                text = "".join(str(b.get("text", "")) for b in inner if isinstance(b, dict))
            else:
                text = str(inner or "")
            found.append((bool(block.get("is_error")), text))
    return found


def _tool_names(body: Any) -> list[str]:
    return [str(t.get("name")) for t in (body.get("tools") or []) if isinstance(t, dict)]


def _offers(body: Any, name: str) -> bool:
    """Whether a request offers tool `name` to the model: in `tools`, or — when Claude Code
    defers MCP tools behind its ToolSearch (a lane without `--tools`) — named in the list
    of deferred tools it announces. The model's own tool_use blocks do not count."""
    if name in _tool_names(body):
        return True
    rest = {**body, "messages": [
        {**m, "content": [b for b in m["content"] if not (
            isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result"))]}
        if isinstance(m, dict) and isinstance(m.get("content"), list) else m
        for m in body.get("messages") or []]}
    return name in json.dumps(rest)


def _answering(calls: list[Any], call_id: str) -> list[tuple[bool, str]]:
    """(is_error, text) of the tool_result that answers the tool_use `toolu_<call_id>`, from
    the first request that carries it back."""
    for call in calls:
        for msg in call.body.get("messages") or []:
            content = msg.get("content") if isinstance(msg, dict) else None
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("tool_use_id") == f"toolu_{call_id}":
                    return _tool_results({"messages": [{"content": [block]}]})
    return []


@needs_claude
@pytest.mark.parametrize("fence", ["plan", "workspace-write"])
async def test_claude_main_delegates_through_laneboard_mcp(
    conducted: Conducted, standin: StandinServer, fence: str
) -> None:
    """Plan (Claude Code's plan mode, `--restricted`, the read tools) and a writable main
    (default mode: the tools are pre-allowed by `--allowedTools` alone)."""
    sup = conducted.sup
    spec = sup.spec_for(sup.lanes["main"])
    assert spec.control_socket == str(conducted.control.path) and spec.lane_token
    assert set(sup.conductor) == {"main"}  # lanes without `delegates` get no server
    standin.script(
        Reply.tool_call(DELEGATE, {"task": "write the parser", "lane": "coder"},
                        call_id="d1"),
        Reply.text("main: the coder wrote it"),
        dialect="anthropic",
    )
    turn = await sup.send("main", "get the parser written", timeout=240)
    calls = [c for c in standin.calls("anthropic") if isinstance(c.body, dict)]
    assert turn.state == "done", (turn.error, [c.body for c in calls])
    assert turn.reply == "main: the coder wrote it"
    # Claude Code started laneboard's server from --mcp-config, and laneboard waited for it
    # to list its tools before calling the lane ready: the very first request offers them
    # (2.1.328 otherwise sends a prompt typed early with laneboard "not yet available").
    assert _offers(calls[0].body, DELEGATE), _tool_names(calls[0].body)
    assert "not yet available" not in json.dumps(calls[0].body)
    # --strict-mcp-config: never a tool of any other MCP server.
    ours = {f"mcp__laneboard__{t}" for t in ("lanes", "route", "delegate", "review", "triage",
                                             "commit_message", "result")}
    for call in calls:
        assert {n for n in _tool_names(call.body) if n.startswith("mcp__")} <= ours
        assert "intruder" not in json.dumps(call.body)
    # The stand-in sees the delegated answer inside main's next request: the tool result.
    results = _answering(calls, "d1")
    assert results, [c.body.get("messages") for c in calls]
    [(is_error, text)] = results
    assert not is_error, text
    doc = json.loads(text)
    assert doc.get("lane") == "coder" and doc.get("state") == "done", text
    assert "answer[coder]: write the parser" in doc["answer"]
    # The hop was recorded by the control server as main → coder, with its artifact.
    [run] = conducted.control.runs.values()
    [hop] = [conducted.control.hops[h] for h in run.hops]
    assert (hop.caller, hop.lane, hop.state) == ("main", "coder", "done")
    artifact = hop.artifact
    assert artifact
    await async_wait_until(lambda: Path(artifact).is_file(), timeout=20)


@needs_claude
async def test_claude_main_refused_delegation_names_the_rule(
    conducted: Conducted, standin: StandinServer
) -> None:
    """`helper` is a configured lane but not in `lanes.main.delegates`: the tool result
    Claude Code sends back is an error naming the `delegates` rule, and nothing ran."""
    standin.script(
        Reply.tool_call(DELEGATE, {"task": "tidy the imports", "lane": "helper"},
                        call_id="d2"),
        Reply.text("main: I will do it another way"),
        dialect="anthropic",
    )
    turn = await conducted.sup.send("main", "tidy the imports", timeout=240)
    calls = [c for c in standin.calls("anthropic") if isinstance(c.body, dict)]
    assert turn.state == "done", (turn.error, [c.body for c in calls])
    assert turn.reply == "main: I will do it another way"
    [(is_error, text)] = _answering(calls, "d2")
    assert is_error, text
    assert "refused by rule 'delegates'" in text and "'helper'" in text, text
    assert "lanes.main.delegates" in text, text
    assert not conducted.control.hops  # refused before any hop opened
    helper = conducted.sup.lanes["helper"]
    assert helper.prompts == 0


REVIEW_ANSWER = (
    "[MAJOR] parser.py:2 - parse() ignores its input\n"
    "[MINOR] parser.py:1 - no docstring\n"
    "\n"
    "Summary: one major, one minor."
)


@needs_claude
@pytest.mark.parametrize("reviewer", [True])
async def test_claude_main_reviews_through_the_plan_mode_reviewer(
    conducted: Conducted, standin: StandinServer
) -> None:
    """main calls `review`: the diff goes to the real plan-mode claude reviewer, and main's
    next request carries the reviewer's findings and the review artifact."""
    ws = conducted.workspace
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t"]
    base = subprocess.run([*git, "rev-parse", "--abbrev-ref", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    subprocess.run([*git, "checkout", "-q", "-b", "feature/parser"], check=True)
    (ws / "parser.py").write_text("def parse(text):\n    return []\n")
    subprocess.run([*git, "add", "parser.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "feat: a parser"], check=True)
    standin.script(
        Reply.tool_call("mcp__laneboard__review", {"base": base}, call_id="r1"),
        Reply.text(REVIEW_ANSWER),  # the reviewer's turn
        Reply.text("main: the reviewer found one major issue"),
        dialect="anthropic",
    )
    turn = await conducted.sup.send("main", "get the parser reviewed", timeout=300)
    calls = [c for c in standin.calls("anthropic") if isinstance(c.body, dict)]
    assert turn.state == "done", (turn.error, len(calls))
    assert turn.reply == "main: the reviewer found one major issue"
    assert "def parse(text):" in (calls[1].prompt or "")  # the diff reached the reviewer
    [(is_error, text)] = _answering(calls, "r1")
    assert not is_error, text
    doc = json.loads(text)
    assert doc.get("lane") == "review" and doc.get("state") == "done", text
    assert doc["findings"] == 2 and doc["tree_unchanged"] is True, text
    assert "parser.py:2" in doc["answer"]
    assert doc["review_artifact"] and Path(doc["review_artifact"]).is_file()
    [hop] = conducted.control.hops.values()
    assert (hop.caller, hop.lane, hop.tool) == ("main", "review", "review")


async def test_laneboard_mcp_as_claude_needs_it(tmp_path: Path) -> None:
    """Without claude: the real `laneboard mcp` marks every tool read-only (what lets plan
    mode call it), answers in text only (no JSON-in-JSON structured copy), and touches the
    readiness marker the claude harness waits for once its tools were listed."""
    from mcp import Client, StdioServerParameters

    from laneboard.harnesses.mcp_attach import READY_ENV

    marker = tmp_path / "mcp-main-x.ready"
    env = {"LANEBOARD_LANE_TOKEN": "0" * 64, "LANEBOARD_CONTROL_SOCKET": str(tmp_path / "none"),
           READY_ENV: str(marker), "LANEBOARD_STATE_DIR": str(tmp_path / "state")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "laneboard", "mcp"],
                                   env=env, cwd=str(tmp_path))
    async with Client(params, read_timeout_seconds=60) as client:
        assert not marker.exists()  # not before the client listed the tools
        tools = (await client.list_tools()).tools
        assert marker.is_file()
        assert len(tools) == 7
        for t in tools:
            assert t.annotations is not None and t.annotations.read_only_hint is True, t.name
            assert t.output_schema is None, t.name
        res = await client.call_tool("lanes", {})
    assert res.is_error and res.structured_content is None
    assert "no laneboard supervisor is listening" in "".join(
        getattr(c, "text", "") for c in res.content)
