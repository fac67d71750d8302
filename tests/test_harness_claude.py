"""The claude-code harness against the REAL `claude` 2.1.328 and a stand-in Anthropic endpoint.

Interactive tests run Claude Code in a pane on a private tmux socket (never the user's
server) with an isolated CLAUDE_CONFIG_DIR seeded by `seed_isolated_config`. Every wait has
a deadline; nothing sleeps to synchronise. CLAUDE_CODE_MAX_RETRIES=2 keeps a failing
endpoint to ~2 s instead of ~3 minutes.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.errors import BinaryMissing, FenceViolation, HarnessError, ProviderError
from laneboard.harnesses.base import ErrorRaised, HarnessEvent, HarnessSpec
from laneboard.harnesses.claude import harness as claude_code
from laneboard.harnesses.claude.harness import ClaudeCodeHarness
from laneboard.harnesses.claude.launch import build_argv, build_env, seed_isolated_config
from laneboard.harnesses.claude.transcript import unwrap_pasted
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.standins import DEGENERATE_TOKEN, Reply, StandinServer
from tests.fixtures.panes import FakePane

needs_claude = pytest.mark.usefixtures("claude_binary")
needs_tmux = pytest.mark.usefixtures("tmux_binary")

KEY = "sk-ant-standin-0123456789abcdefghijklmnop"

#: 40 lines of everything a shell or a terminal could mangle.
NASTY_PROMPT = "\n".join(
    [
        "Please review this: it's \"quoted\", 'single', `backticks` and $HOME stay literal.",
        *(
            f"line {i:02d}: $(echo no) ${{PATH}} \\n \\t café ünïcödé 日本語 🚀 <tag> & | ; {{}} [] %s %% ~ *"
            for i in range(1, 39)
        ),
        "last line: done — thanks!",
    ]
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "work"
    wd.mkdir()
    (wd / "app.py").write_text("print('hello')\n")
    return wd


def make_spec(standin_url: str, workdir: Path, tmp_path: Path, **over: object) -> HarnessSpec:
    config_dir = tmp_path / "claude-config"
    seed_isolated_config(config_dir, workdir, api_key=KEY)
    spec = HarnessSpec(
        lane="review",
        harness="claude-code",
        mode="interactive",
        model="claude-standin-1",
        fence="plan",
        deny=("rm -rf /", "git push --force"),
        cwd=str(workdir),
        base_url=standin_url,
        api_key_env="LB_TEST_ANTHROPIC_KEY",
        env={
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "CLAUDE_CODE_MAX_RETRIES": "2",
            "LB_TEST_ANTHROPIC_KEY": KEY,
        },
    )
    return replace(spec, **over)  # type: ignore[arg-type]


async def collect(h: ClaudeCodeHarness, into: list[HarnessEvent]) -> None:
    async for ev in h.events():
        into.append(ev)


# -- pure: flags, env, config seeding ----------------------------------------------------


def test_plan_fence_compiles_to_defence_in_depth() -> None:
    spec = HarnessSpec(
        lane="r",
        harness="claude-code",
        model="opus",
        fallback_models=("sonnet",),
        fence="plan",
        deny=("rm -rf /", "DELETE /api/*"),
        thinking="high",
    )
    argv = build_argv(spec, session_id="s-1")
    assert argv[:3] == ["claude", "--model", "opus"]
    joined = " ".join(argv)
    for flag in (
        "--fallback-model sonnet",
        "--session-id s-1",
        "--permission-mode plan",
        "--restricted",
        "--strict-mcp-config",
        "--tools Read,Grep,Glob",
        "--effort high",
    ):
        assert flag in joined
    denied = argv[argv.index("--disallowed-tools") + 1 :]
    assert denied == [
        "Write",
        "Edit",
        "NotebookEdit",
        "AskUserQuestion",
        "ExitPlanMode",
        "Bash(rm -rf /:*)",
        "Bash(sudo rm -rf /:*)",
    ]  # `DELETE /api/*` is not a shell command: the dialog check catches it
    assert "--dangerously-skip-permissions" not in argv


def test_writable_fence_keeps_default_mode_with_deny_list() -> None:
    spec = HarnessSpec(
        lane="c", harness="claude-code", fence="workspace-write", deny=("git push --force",)
    )
    argv = build_argv(spec, headless=True, prompt="do it")
    assert "--permission-mode" not in argv and "--restricted" not in argv
    assert argv[argv.index("--disallowed-tools") + 1] == "Bash(git push --force:*)"
    assert argv[-2:] == ["--", "do it"]
    assert argv[1:6] == [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
    ]


def test_deny_patterns_in_claude_rule_form_pass_through() -> None:
    spec = HarnessSpec(
        lane="c",
        harness="claude-code",
        fence="workspace-write",
        deny=("Bash(git push --force:*)", "rm  -rf /", "odd (x)", ""),
    )
    argv = build_argv(spec)
    assert argv[argv.index("--disallowed-tools") + 1 :] == [
        "Bash(git push --force:*)",
        "Bash(sudo git push --force:*)",
        "Bash(rm -rf /:*)",
        "Bash(sudo rm -rf /:*)",
    ]


def test_env_maps_provider_and_secret() -> None:
    spec = HarnessSpec(
        lane="r",
        harness="claude-code",
        base_url="http://127.0.0.1:9/",
        api_key_env="MY_KEY",
        env={"X": "1"},
    )
    env = build_env(spec, {"MY_KEY": "secret", "PATH": "/bin"})
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["ANTHROPIC_API_KEY"] == "secret"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert env["X"] == "1"


def test_seed_isolated_config(tmp_path: Path) -> None:
    path = seed_isolated_config(tmp_path / "cfg", tmp_path, api_key=KEY)
    import json

    data = json.loads(path.read_text())
    assert data["hasCompletedOnboarding"] is True
    assert data["projects"][str(tmp_path.resolve())]["hasTrustDialogAccepted"] is True
    assert data["customApiKeyResponses"]["approved"] == [KEY[-20:]]


def test_seed_refuses_the_users_own_config() -> None:
    with pytest.raises(HarnessError, match="refusing"):
        seed_isolated_config(Path.home(), "/tmp")
    with pytest.raises(HarnessError, match="refusing"):
        seed_isolated_config(Path.home() / ".claude", "/tmp")


# -- headless (`claude -p`) ---------------------------------------------------------------


@needs_claude
@pytest.mark.slow
async def test_headless_returns_answer_usage_and_cost(
    standin: StandinServer, workdir: Path, tmp_path: Path
) -> None:
    standin.script(Reply.text("Headless answer.", input_tokens=1000, output_tokens=50))
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path, mode="exec"))
    result = await h.send(NASTY_PROMPT, timeout=60)
    assert result.reply == "Headless answer."
    assert result.usage.input_tokens == 1000 and result.usage.output_tokens == 50
    assert result.usage.cost_usd is not None
    assert standin.last_prompt("anthropic") == NASTY_PROMPT
    call = standin.calls("anthropic")[-1]
    assert call.headers.get("x-api-key") == KEY


@needs_claude
@pytest.mark.slow
@pytest.mark.parametrize(("status", "kind"), [(429, "rate-limit"), (500, "server"), (401, "auth")])
async def test_headless_http_errors_become_provider_errors(
    standin: StandinServer, workdir: Path, tmp_path: Path, status: int, kind: str
) -> None:
    standin.script(*[Reply.error(status, "stand-in says no")] * 4)
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path, mode="exec"))
    with pytest.raises(ProviderError) as err:
        await asyncio.wait_for(h.send("hello there", timeout=60), 60)
    assert err.value.kind == kind
    assert err.value.status == status
    assert "stand-in says no" in str(err.value)


@needs_claude
@pytest.mark.slow
async def test_headless_unreachable_endpoint(
    unreachable_url: str, workdir: Path, tmp_path: Path
) -> None:
    h = ClaudeCodeHarness(make_spec(unreachable_url, workdir, tmp_path, mode="exec"))
    with pytest.raises(ProviderError) as err:
        await h.send("hello there", timeout=60)
    assert err.value.kind == "unreachable"
    assert "review" in str(err.value)


@needs_claude
@pytest.mark.slow
async def test_headless_watchdog_stops_a_degenerate_stream(
    standin: StandinServer, workdir: Path, tmp_path: Path
) -> None:
    standin.script(Reply.endless(DEGENERATE_TOKEN, count=20_000, delay=0.0005))
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path, mode="exec"))
    events: list[HarnessEvent] = []
    watcher = asyncio.create_task(collect(h, events))
    await asyncio.sleep(0)
    with pytest.raises(HarnessError, match="degenerate output"):
        await h.send("hello there", timeout=60)
    h.hub.close()
    await asyncio.wait_for(watcher, 5)
    assert any(isinstance(e, ErrorRaised) and e.kind == "watchdog" for e in events)
    assert (await h.health()).detail != "headless run"  # the process is gone


async def test_missing_binary_is_a_clear_error(workdir: Path, tmp_path: Path) -> None:
    spec = make_spec("http://127.0.0.1:9", workdir, tmp_path, mode="exec")
    h = ClaudeCodeHarness(spec, binary="claude-not-installed-here")
    with pytest.raises(
        BinaryMissing, match=re.escape("npm install @anthropic-ai/claude-code@2.1.328")
    ):
        await h.send("hello", timeout=5)


# -- interactive (tmux) ------------------------------------------------------------------


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_interactive_prompt_arrives_byte_for_byte(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    standin.script(Reply.text("FINDINGS: all good.", input_tokens=321, output_tokens=45))
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path), relay=relay, session="test")
    try:
        await h.start()
        assert h.state == "ready"
        result = await h.send(NASTY_PROMPT, timeout=90)
    finally:
        await h.stop()
    assert result.reply == "FINDINGS: all good."
    assert result.state == "done"
    assert result.usage.input_tokens == 321 and result.usage.output_tokens == 45
    got = standin.last_prompt("anthropic")
    assert got is not None
    # A multi-line paste reaches the model wrapped in <pasted_content id="…"> tags.
    assert got.lstrip().startswith("<pasted_content id=")
    assert unwrap_pasted(got) == NASTY_PROMPT


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_plan_mode_holds_against_a_write_tool_call(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    target = workdir / "pwned.txt"
    standin.script(
        Reply.tool_call("Write", {"file_path": str(target), "content": "owned"}),
        Reply.text("I could not write; here is my review."),
    )
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path), relay=relay, session="test")
    try:
        await h.start()
        result = await h.send("review the code please", timeout=90)
    finally:
        await h.stop()
    assert not target.exists()
    assert result.reply == "I could not write; here is my review."
    # The Write tool was not even offered to the model.
    tools = [t.get("name") for t in standin.calls("anthropic")[0].body.get("tools", [])]
    assert "Write" not in tools and "Bash" not in tools and "Read" in tools


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_a_denied_request_in_a_permission_dialog_is_refused(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    """The incident: a writable lane's model calls `DELETE /api/index`. Claude Code asks
    for permission (curl is not read-only) — or, first, laneboard's PreToolUse hook sees
    the call; either way the command is matched against `DELETE /api/*` and refused
    (one `fence` event). The request never reaches the endpoint."""
    command = f"curl -s -X DELETE {standin.url}/api/index"
    standin.script(
        Reply.tool_call("Bash", {"command": command, "description": "Drop the index"}),
        Reply.text("Understood, I will not delete it."),
    )
    spec = make_spec(
        standin.url, workdir, tmp_path, fence="workspace-write", deny=("DELETE /api/*",)
    )
    h = ClaudeCodeHarness(spec, relay=relay, session="test", state_dir=tmp_path / "state")
    events: list[HarnessEvent] = []
    try:
        await h.start()
        watcher = asyncio.create_task(collect(h, events))
        result = await h.send("tidy up the search index", timeout=90)
    finally:
        await h.stop()
    await asyncio.wait_for(watcher, 5)
    fence = [e for e in events if isinstance(e, ErrorRaised) and e.kind == "fence"]
    assert len(fence) == 1, events
    assert "'DELETE /api/*'" in fence[0].message and "/api/index" in fence[0].message
    assert result.state in ("interrupted", "done")  # a dialog ends the turn; the hook does not
    assert not [r for r in standin.requests if r.method == "DELETE"]


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_tree_change_during_a_plan_turn_is_a_fence_violation(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    standin.script(Reply.slow("slow review " * 10, delay=0.05))
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path), relay=relay, session="test")
    events: list[HarnessEvent] = []
    try:
        await h.start()
        watcher = asyncio.create_task(collect(h, events))
        send = asyncio.create_task(h.send("review the code please", timeout=90))
        await asyncio.to_thread(standin.wait_for_calls, 1, dialect="anthropic", timeout=30)
        (workdir / "app.py").write_text("print('changed behind the reviewer')\n")
        with pytest.raises(FenceViolation, match=r"~ app\.py"):
            await send
    finally:
        await h.stop()
    await asyncio.wait_for(watcher, 5)
    assert any(isinstance(e, ErrorRaised) and e.kind == "fence" for e in events)


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_interactive_server_error_is_a_provider_error(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    standin.script(*[Reply.error(500, "stand-in is down")] * 4)
    h = ClaudeCodeHarness(make_spec(standin.url, workdir, tmp_path), relay=relay, session="test")
    try:
        await h.start()
        with pytest.raises(ProviderError) as err:
            await h.send("review the code please", timeout=60)
    finally:
        await h.stop()
    assert err.value.kind == "server" and err.value.status == 500


@needs_claude
@needs_tmux
@pytest.mark.slow
async def test_unseeded_config_is_setup_blocked(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    from laneboard.errors import SetupBlocked

    fresh = tmp_path / "fresh-config"
    fresh.mkdir()
    spec = make_spec(standin.url, workdir, tmp_path)
    spec = replace(spec, env={**spec.env, "CLAUDE_CONFIG_DIR": str(fresh)})
    h = ClaudeCodeHarness(spec, relay=relay, session="test", ready_timeout=30)
    try:
        with pytest.raises(SetupBlocked):
            await h.start()
    finally:
        await h.stop()
    assert standin.calls("anthropic") == []


# -- dialogs, with a scripted pane (no CLI) ----------------------------------------------

BASH_DIALOG = """\
❯ clean up
● X
  ⎿  $ {command}
────────────────────────────────────────
 Bash command
 x
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 {command}
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 Do you want to proceed?
 ❯ No
   Yes
 Esc to cancel · Tab to amend
"""
#: A dialog whose command could not be read (no Bash box): its text is checked instead.
TOOL_DIALOG = """\
❯ tidy the index
────────────────────────────────────────
 Tool use
   search-api - request(method: "DELETE", path: "/api/index") (MCP)
 Do you want to proceed?
 ❯ 1. Yes
   2. No
 Esc to cancel
"""
READY = "────\n❯\u00a0\n────\n  ⏵⏵ auto mode on (shift+tab to cycle)\n"


def dialog_lane(
    screen: str, deny: tuple[str, ...] = (), fence: str = "workspace-write"
) -> tuple[ClaudeCodeHarness, FakePane, claude_code.claude_screen.ClaudeScreen]:
    """A harness whose pane shows `screen` (a dialog), and that screen as classified."""
    spec = HarnessSpec(lane="coder", harness="claude-code", fence=fence, deny=deny)  # type: ignore[arg-type]
    h = ClaudeCodeHarness(spec)
    pane = FakePane(screen, READY)
    h.pane = pane
    return h, pane, claude_code.claude_screen.classify(screen)


@pytest.mark.parametrize(
    ("command", "deny", "pattern"),
    [
        ("rm  -rf  /", ("rm -rf /",), "rm -rf /"),  # extra spaces
        ("sudo rm -fr /*", ("rm -rf /",), "rm -rf /"),  # wrapper, flags in another order
        ("cd /srv && bash -c 'rm -r -f /'", ("rm -rf /",), "rm -rf /"),
        ("git push --force origin", ("Bash(git push --force:*)",), "Bash(git push --force:*)"),
        ("git push -f origin main", ("git push --force",), "git push --force"),
        ("curl -X DELETE http://127.0.0.1:9200/api/index", ("DELETE /api/*",), "DELETE /api/*"),
    ],
)
async def test_denied_command_dialog_is_escaped_with_a_fence_event(
    command: str, deny: tuple[str, ...], pattern: str
) -> None:
    h, pane, scr = dialog_lane(BASH_DIALOG.format(command=command), deny)
    events: list[HarnessEvent] = []
    task = asyncio.create_task(collect(h, events))
    await asyncio.sleep(0)  # let the collector subscribe
    assert scr.command == command
    answered = await h._on_dialog(scr, claude_code.TurnView())
    h.hub.close()
    await task
    assert answered is True
    assert pane.keys_sent == ["Escape"]
    fence = [e for e in events if isinstance(e, ErrorRaised)]
    assert len(fence) == 1 and fence[0].kind == "fence"
    assert command in fence[0].message and repr(pattern) in fence[0].message


async def test_dialog_without_a_command_is_checked_by_its_text() -> None:
    h, pane, scr = dialog_lane(TOOL_DIALOG, ("DELETE /api/*",))
    assert scr.state == "waiting-permission" and scr.command is None
    assert "tidy the index" not in scr.dialog  # the conversation above is not the dialog
    assert await h._on_dialog(scr, claude_code.TurnView()) is True
    assert pane.keys_sent == ["Escape"]


#: Claude Code 2.1.328 in a writable lane behind a custom base URL: auto mode's server-side
#: check is unavailable, so it asks about the pending call without showing its command.
AUTO_MODE_DIALOG = """\
❯ tidy up

● Drop the index
  ⎿  $ git push --force origin

────────────────────────────────────────
  Auto mode can't check actions in this session

  You can stay in auto mode and approve each action that needs the check yourself.

  Enter to stay in auto mode · shift+Tab to leave for accept edits mode and stop · Esc to cancel
"""


async def test_dialog_about_a_pending_call_is_checked_by_the_transcript() -> None:
    h, pane, scr = dialog_lane(AUTO_MODE_DIALOG, ("Bash(git push --force:*)",))
    turn = claude_code.TurnView()
    turn.add({"type": "user", "message": {"role": "user", "content": "tidy up"}})
    turn.add({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": "t0", "name": "Bash", "input": {"command": "ls"}}]}})  # fmt: skip
    turn.add({"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t0", "content": "ok"}]}})  # fmt: skip
    turn.add({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": "t1", "name": "Bash",
         "input": {"command": "git  push --force origin"}}]}})  # fmt: skip
    assert [c.id for c in turn.pending] == ["t1"]  # `ls` already ran
    assert scr.state == "waiting-permission" and scr.command is None
    assert await h._on_dialog(scr, turn) is True
    assert pane.keys_sent == ["Escape"]


@pytest.mark.parametrize(
    ("command", "deny"),
    [
        ("rm -rf /srv/data", ("rm -rf /",)),  # another target: not the pattern's `/`
        ("git push origin main", ("git push --force",)),
        ("echo 'rm -rf /'", ("rm -rf /",)),  # printed, not run
        ("curl http://127.0.0.1:9200/api/index", ("DELETE /api/*",)),  # a GET
    ],
)
async def test_other_dialog_in_a_writable_lane_waits_for_a_person(
    command: str, deny: tuple[str, ...]
) -> None:
    h, pane, scr = dialog_lane(BASH_DIALOG.format(command=command), deny)
    assert await h._on_dialog(scr, claude_code.TurnView()) is False
    assert pane.keys_sent == []  # never answered "yes" (or anything) on a person's behalf
    assert h.state == "waiting"


async def test_any_dialog_in_a_fenced_lane_is_refused() -> None:
    h, pane, scr = dialog_lane(BASH_DIALOG.format(command="ls -la"), fence="plan")
    assert await h._on_dialog(scr, claude_code.TurnView()) is True
    assert pane.keys_sent == ["Escape"]


def test_tree_snapshot_sees_adds_edits_and_removals(tmp_path: Path) -> None:
    from laneboard.harnesses.tree_snapshot import snapshot

    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("b")
    before = snapshot(tmp_path)
    assert snapshot(tmp_path).changes_since(before) == []
    (tmp_path / "a.txt").write_text("aa")
    (tmp_path / "d" / "b.txt").unlink()
    (tmp_path / "d" / "c.txt").write_text("c")
    assert snapshot(tmp_path).changes_since(before) == ["~ a.txt", "- d/b.txt", "+ d/c.txt"]
    assert (
        snapshot(tmp_path, exclude=("d",)).changes_since(snapshot(tmp_path, exclude=("d",))) == []
    )
