"""The codex harness against the REAL `codex` 0.169.0 and a stand-in Responses endpoint.

Each test gets its own CODEX_HOME; interactive tests run on a private tmux socket. The
provider is configured with request_max_retries=0 and stream_max_retries=0, so a failing
endpoint fails in one request. Every wait has a deadline.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.errors import BinaryMissing, HarnessError, ProviderError
from laneboard.harnesses.base import HarnessSpec
from laneboard.harnesses.codex import (
    CodexHarness,
    build_exec_argv,
    build_interactive_argv,
    responses_base_url,
    seed_isolated_home,
)
from laneboard.harnesses.tmux import TmuxRelay
from laneboard.standins import Reply, StandinServer

needs_codex = pytest.mark.skipif(shutil.which("codex") is None, reason="codex not installed")
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

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
