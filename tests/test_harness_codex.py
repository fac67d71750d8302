"""The codex harness against the REAL `codex` 0.169.0 and a stand-in Responses endpoint.

Each test gets its own CODEX_HOME; interactive tests run on a private tmux socket. The
provider is configured with request_max_retries=0 and stream_max_retries=0, so a failing
endpoint fails in one request. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.errors import BinaryMissing, HarnessError, ProviderError
from laneboard.harnesses.base import ErrorRaised, HarnessEvent, HarnessSpec
from laneboard.harnesses.codex import screen as codex_screen
from laneboard.harnesses.codex.harness import CodexHarness
from laneboard.harnesses.codex.launch import (
    build_exec_argv,
    build_interactive_argv,
    read_model_upgrades,
    responses_base_url,
    seed_isolated_home,
)
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.standins import Reply, StandinServer
from tests.fixtures.panes import FakePane

needs_codex = pytest.mark.usefixtures("codex_binary")
needs_tmux = pytest.mark.usefixtures("tmux_binary")

NO_RETRIES = {"request_max_retries": 0, "stream_max_retries": 0}

NASTY_PROMPT = "\n".join(
    [
        "Build this: it's \"quoted\", 'single', `backticks` and $HOME stay literal.",
        *(
            f"line {i:02d}: $(echo no) ${{PATH}} \\n café ünïcödé 日本語 🚀 <tag> & | ; {{}} [] %s ~ *"
            for i in range(1, 39)
        ),
        "last line: done — thanks!",
    ]
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "work"
    wd.mkdir()
    (wd / "main.py").write_text("print('hi')\n")
    return wd


def make_spec(base_url: str, workdir: Path, tmp_path: Path, **over: object) -> HarnessSpec:
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    spec = HarnessSpec(
        lane="coder",
        harness="codex",
        mode="exec",
        model="gpt-standin",
        provider="standin",
        thinking="low",
        fence="read-only",
        cwd=str(workdir),
        base_url=base_url,
        api_key_env="LB_TEST_OPENAI_KEY",
        env={"CODEX_HOME": str(home), "LB_TEST_OPENAI_KEY": "sk-standin", "TMPDIR": str(tmp_path)},
    )
    return replace(spec, **over)  # type: ignore[arg-type]


def harness(spec: HarnessSpec, **kw: object) -> CodexHarness:
    return CodexHarness(spec, provider_options=NO_RETRIES, **kw)  # type: ignore[arg-type]


# -- pure --------------------------------------------------------------------------------


def test_exec_argv_compiles_the_fence() -> None:
    spec = HarnessSpec(
        lane="c",
        harness="codex",
        model="gpt-5.5",
        thinking="high",
        fence="plan",
        provider="z.ai",
        base_url="http://127.0.0.1:9",
        api_key_env="K",
    )
    argv = build_exec_argv(spec, output_file="/tmp/o", prompt="review")
    assert argv[:7] == [
        "codex",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-o",
        "/tmp/o",
        "--sandbox",
    ]
    assert argv[7] == "read-only"
    assert argv[-2:] == ["--", "review"]
    joined = " ".join(argv)
    assert "-m gpt-5.5" in joined and "model_reasoning_effort=high" in joined
    assert 'approval_policy="never"' in joined
    assert "model_provider=z-ai" in joined
    assert (
        'model_providers.z-ai={name="z-ai",base_url="http://127.0.0.1:9/v1",'
        'wire_api="responses",env_key="K"}'
    ) in argv
    assert "--dangerously-bypass-approvals-and-sandbox" not in argv


def test_sandbox_per_fence() -> None:
    for fence, sandbox in [
        ("read-only", "read-only"),
        ("plan", "read-only"),
        ("workspace-write", "workspace-write"),
        ("full", "danger-full-access"),
    ]:
        spec = HarnessSpec(lane="c", harness="codex", fence=fence)  # type: ignore[arg-type]
        argv = build_interactive_argv(spec)
        assert argv[argv.index("--sandbox") + 1] == sandbox
        assert argv[argv.index("-a") + 1] == "never"


def test_base_url_gets_v1_only_when_bare() -> None:
    assert responses_base_url("http://h:1") == "http://h:1/v1"
    assert responses_base_url("http://h:1/v1/") == "http://h:1/v1"
    assert responses_base_url("http://h:1/gateway/openai") == "http://h:1/gateway/openai"


def test_seed_isolated_home(tmp_path: Path) -> None:
    path = seed_isolated_home(tmp_path / "home", tmp_path / "w")
    seed_isolated_home(tmp_path / "home", tmp_path / "w")  # idempotent
    text = path.read_text()
    assert text.count(f'[projects."{(tmp_path / "w").resolve()}"]') == 1
    assert 'trust_level = "trusted"' in text
    with pytest.raises(HarnessError, match="refusing"):
        seed_isolated_home(Path.home() / ".codex", tmp_path)


async def test_missing_binary_is_a_clear_error(workdir: Path, tmp_path: Path) -> None:
    h = harness(make_spec("http://127.0.0.1:9", workdir, tmp_path), binary="codex-not-here")
    with pytest.raises(BinaryMissing, match=re.escape("npm install @openai/codex@0.169.0")):
        await h.send("hello", timeout=5)


# -- exec --------------------------------------------------------------------------------


@needs_codex
@pytest.mark.slow
async def test_exec_returns_answer_and_usage(
    standin: StandinServer, workdir: Path, tmp_path: Path
) -> None:
    standin.script(
        Reply.text("Exec answer.", input_tokens=1000, output_tokens=50), dialect="responses"
    )
    h = harness(make_spec(standin.openai_base_url, workdir, tmp_path))
    result = await h.send(NASTY_PROMPT, timeout=60)
    assert result.reply == "Exec answer."
    assert result.usage.input_tokens == 1000 and result.usage.output_tokens == 50
    assert standin.last_prompt("responses") == NASTY_PROMPT
    call = standin.calls("responses")[-1]
    assert call.headers.get("authorization") == "Bearer sk-standin"
    assert call.body["model"] == "gpt-standin"
    assert call.body["reasoning"]["effort"] == "low"


@needs_codex
@pytest.mark.slow
async def test_read_only_sandbox_cannot_write(
    standin: StandinServer, workdir: Path, tmp_path: Path
) -> None:
    target = workdir / "pwned.txt"
    script = f'await tools.exec_command({{cmd: "echo owned > {target}"}});'
    standin.script(
        Reply.tool_call("exec", script), Reply.text("Could not write."), dialect="responses"
    )
    h = harness(make_spec(standin.openai_base_url, workdir, tmp_path))
    result = await h.send("write the file please", timeout=90)
    assert not target.exists()
    assert result.reply == "Could not write."
    assert len(standin.calls("responses")) == 2  # the tool result went back to the model


@needs_codex
@pytest.mark.slow
@pytest.mark.parametrize(("status", "kind"), [(429, "rate-limit"), (500, "server")])
async def test_exec_http_errors_become_provider_errors(
    standin: StandinServer, workdir: Path, tmp_path: Path, status: int, kind: str
) -> None:
    standin.script(*[Reply.error(status, "stand-in says no")] * 3, dialect="responses")
    h = harness(make_spec(standin.openai_base_url, workdir, tmp_path))
    with pytest.raises(ProviderError) as err:
        await h.send("hello there", timeout=60)
    assert err.value.kind == kind


@needs_codex
@pytest.mark.slow
async def test_exec_unreachable_endpoint_does_not_hang(
    unreachable_url: str, workdir: Path, tmp_path: Path
) -> None:
    h = harness(make_spec(unreachable_url, workdir, tmp_path), unreachable_after=3.0)
    with pytest.raises(ProviderError) as err:
        await h.send("hello there", timeout=60)
    assert err.value.kind == "unreachable"
    assert "waiting for network" in str(err.value)


# -- interactive (tmux) ------------------------------------------------------------------


@needs_codex
@needs_tmux
@pytest.mark.slow
async def test_interactive_prompt_arrives_byte_for_byte(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    standin.script(
        Reply.text("Interactive answer.", input_tokens=700, output_tokens=30), dialect="responses"
    )
    spec = make_spec(
        standin.openai_base_url,
        workdir,
        tmp_path,
        mode="interactive",
        fence="workspace-write",
        lane="main",
    )
    h = harness(spec, relay=relay, session="test")
    try:
        await h.start()
        result = await h.send(NASTY_PROMPT, timeout=90)
    finally:
        await h.stop()
    assert result.reply == "Interactive answer."
    assert standin.last_prompt("responses") == NASTY_PROMPT
    assert result.usage.output_tokens == 30


@needs_codex
@needs_tmux
@pytest.mark.slow
async def test_interactive_lane_keeps_an_upgradable_model_without_a_prompt(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    """The pinned catalog offers a newer model for some models ("Meet …, Try new model");
    the lane keeps its configured model and reaches the composer without anyone answering."""
    spec = make_spec(standin.openai_base_url, workdir, tmp_path, mode="interactive", lane="main")
    upgrades = await read_model_upgrades("codex", {**os.environ, **spec.env})
    assert upgrades, "codex 0.169.0's catalog lists upgradable models"
    old = sorted(upgrades)[0]
    h = harness(replace(spec, model=old), relay=relay, session="test")
    try:
        await h.start()
        assert h.pane is not None
        screen = await relay.screen(h.pane.pane_id)
    finally:
        await h.stop()
    assert codex_screen.state(screen) == "ready"
    assert "Try new model" not in screen


@needs_codex
@needs_tmux
@pytest.mark.slow
async def test_interactive_rate_limit_is_a_provider_error(
    standin: StandinServer, relay: TmuxRelay, workdir: Path, tmp_path: Path
) -> None:
    standin.script(*[Reply.error(429, "slow down")] * 3, dialect="responses")
    spec = make_spec(standin.openai_base_url, workdir, tmp_path, mode="interactive", lane="main")
    h = harness(spec, relay=relay, session="test")
    try:
        await h.start()
        with pytest.raises(ProviderError) as err:
            await h.send("hello there", timeout=60)
    finally:
        await h.stop()
    assert err.value.kind == "rate-limit"


# -- approval dialogs, with a scripted pane (no CLI) ---------------------------------------
# Approvals are off (`-a never`), so codex should never ask; if it does, a denied command or
# a fenced lane is refused and nothing is ever approved.

APPROVAL = """\
• Running {command}
  Would you like to run the following command?
  Environment: local
  Reason: the model wants it
  $ {command}
› 1. Yes, proceed (y)
  2. Yes, and don't ask again for commands that start with `git` (p)
  3. No, and tell Codex what to do differently (esc)
  Press enter to confirm or esc to cancel
"""
COMPOSER = """\
› Ask Codex to do anything

  gpt-standin low · /work
  ← for agents · ? for shortcuts
"""


@pytest.mark.parametrize(
    ("command", "deny", "refused"),
    [
        ("git push --force origin", ("Bash(git push --force:*)",), True),
        ("git push origin +main", ("git push --force",), True),
        ("rm  -rf   /", ("rm -rf /",), True),
        ("curl -sX DELETE http://127.0.0.1:9200/api/index", ("DELETE /api/*",), True),
        ("git push origin main", ("git push --force",), False),
        ("rm -rf ./build", ("rm -rf /",), False),
    ],
)
async def test_approval_naming_a_denied_command_is_refused(
    workdir: Path, tmp_path: Path, command: str, deny: tuple[str, ...], refused: bool
) -> None:
    spec = make_spec("http://127.0.0.1:9", workdir, tmp_path, mode="interactive",
                     fence="workspace-write", deny=deny)  # fmt: skip
    h = harness(spec)
    screen = APPROVAL.format(command=command)
    pane = FakePane(screen, COMPOSER)
    h.pane = pane
    events: list[HarnessEvent] = []

    async def collect() -> None:
        async for ev in h.events():
            events.append(ev)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    scr = codex_screen.classify(screen)
    assert scr.state == "waiting-permission" and scr.command == command.strip()
    assert await h._on_dialog(scr) is refused
    h.hub.close()
    await task
    fence = [e for e in events if isinstance(e, ErrorRaised) and e.kind == "fence"]
    if refused:
        assert pane.keys_sent == ["Escape"] and len(fence) == 1
        assert repr(deny[0]) in fence[0].message
    else:
        assert pane.keys_sent == [] and not fence  # left to a person; never approved
        assert h.state == "waiting"


async def test_any_approval_in_a_read_only_lane_is_refused(workdir: Path, tmp_path: Path) -> None:
    h = harness(make_spec("http://127.0.0.1:9", workdir, tmp_path, mode="interactive"))
    screen = APPROVAL.format(command="ls")
    pane = FakePane(screen, COMPOSER)
    h.pane = pane
    assert await h._on_dialog(codex_screen.classify(screen)) is True
    assert pane.keys_sent == ["Escape"]
