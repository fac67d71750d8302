"""The lane gateway with the REAL claude 2.1.328 and codex 0.169.0 → gateway → stand-ins.

Asserts on what the stand-in received and what the agent did: no secret upstream (typed
in the prompt, or read from a file by a tool), usage counted as the stand-in reported it,
a 429 on the primary answered by the fallback, a strict choice failing visibly, a command
denied on the wire never executed (canary file; the CLI itself was not told of the entry,
and a control run without the gateway's entry does create it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.harnesses.base import HarnessSpec
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import RunningGateway

CLAUDE_KEY = "sk-ant-standin-0123456789abcdefghij"
SECRET = "sk-ant-api03-" + "Zq8xT2vLm9Rk4Wp7Yc1Nb6Hd3Fg5Js0Ae" * 2 + "-AbCdEf123AA"


def _claude_spec(base_url: str, workdir: Path, tmp_path: Path, **over: object) -> HarnessSpec:
    from laneboard.harnesses.claude.launch import seed_isolated_config

    config_dir = tmp_path / "claude-config"
    seed_isolated_config(config_dir, workdir, api_key=CLAUDE_KEY)
    (config_dir / "settings.json").write_text(
        json.dumps({"permissions": {"allow": ["Bash(touch:*)"]}})
    )
    spec = HarnessSpec(
        lane="coder", harness="claude-code", mode="exec", model="claude-standin-1",
        fence="workspace-write", deny=(), cwd=str(workdir), base_url=base_url,
        api_key_env="LB_TEST_ANTHROPIC_KEY",
        env={"CLAUDE_CONFIG_DIR": str(config_dir), "CLAUDE_CODE_MAX_RETRIES": "0",
             "LB_TEST_ANTHROPIC_KEY": CLAUDE_KEY},
    )  # fmt: skip
    return replace(spec, **over)  # type: ignore[arg-type]


def _codex_spec(base_url: str, workdir: Path, tmp_path: Path, **over: object) -> HarnessSpec:
    home, scratch = tmp_path / "codex-home", tmp_path / "scratch"
    home.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    spec = HarnessSpec(
        lane="coder", harness="codex", mode="exec", model=None, provider="standin",
        fence="workspace-write", cwd=str(workdir), base_url=base_url,
        api_key_env="LB_TEST_OPENAI_KEY",
        env={"CODEX_HOME": str(home), "LB_TEST_OPENAI_KEY": "sk-standin",
             "TMPDIR": str(scratch)},
    )  # fmt: skip
    return replace(spec, **over)  # type: ignore[arg-type]


def _workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "work"
    wd.mkdir()
    return wd


def _all_raw(standin: StandinServer) -> bytes:
    return b"\n".join(r.raw for r in standin.requests)


@pytest.mark.slow
async def test_claude_secret_in_prompt_and_file_never_reaches_the_provider(
    standin: StandinServer, gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    (workdir / ".env").write_text(f"ANTHROPIC_API_KEY={SECRET}\n")
    standin.script(
        Reply.tool_call("Read", {"file_path": str(workdir / ".env")}),
        Reply.text("Read it.", input_tokens=1234, output_tokens=56),
    )
    url = gateway.route("coder", "claude-code", base_url=standin.url,
                        model="claude-standin-1")
    h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path), state_dir=tmp_path / "state")
    result = await h.send(f"my key is {SECRET}, now read .env", timeout=120)
    assert result.reply == "Read it.", result
    calls = standin.calls("anthropic")
    assert len(calls) >= 2
    raw = _all_raw(standin)
    assert SECRET.encode() not in raw
    assert b"[REDACTED:" in calls[0].raw  # the prompt's copy
    assert b"[REDACTED:" in calls[-1].raw  # the tool result's copy
    # The same secret became the same placeholder in both places (prompt caches keep working).
    first = calls[-1].raw.decode()
    tags = {first[i:first.index("]", i) + 1] for i in _find_all(first, "[REDACTED:")}
    assert len(tags) == 1, tags
    # Client auth passed through untouched, and was not stored by the gateway.
    assert calls[-1].headers.get("x-api-key") == CLAUDE_KEY
    for f in gateway.folder.iterdir():
        assert CLAUDE_KEY.encode() not in f.read_bytes(), f
    counts = gateway.counts("coder")
    last_in = 1234
    assert counts["input_tokens"] >= last_in and counts["output_tokens"] >= 56
    assert counts["requests"] == len(calls) + len(standin.calls()) - len(calls)
    assert counts["redactions"] >= 2


def _find_all(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


@pytest.mark.slow
async def test_claude_usage_counted_equals_what_the_standin_reported(
    standin: StandinServer, gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    standin.script(Reply.text("Counted.", input_tokens=4321, output_tokens=77))
    url = gateway.route("coder", "claude-code", base_url=standin.url,
                        cost={"input": 3.0, "output": 15.0})
    h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path), state_dir=tmp_path / "state")
    result = await h.send("count me", timeout=120)
    assert result.reply == "Counted."
    assert len(standin.calls("anthropic")) == 1
    counts = gateway.counts("coder")
    assert counts["input_tokens"] == 4321 and counts["output_tokens"] == 77
    assert counts["cost_usd"] == pytest.approx((4321 * 3.0 + 77 * 15.0) / 1e6)


@pytest.mark.slow
@pytest.mark.parametrize("at_gateway", [True, False], ids=["denied-on-wire", "control"])
async def test_claude_denied_command_never_runs(
    standin: StandinServer, gateway: RunningGateway, tmp_path: Path, at_gateway: bool
) -> None:
    """The CLI is told of no deny entry and the person allows `touch`: only the gateway
    stands between the model's `touch canary.txt` and the disk. The control run (no entry
    at the gateway) creates the canary, so the test can fail."""
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    standin.script(
        Reply.tool_call("Bash", {"command": "touch control.txt", "description": "control"}),
        Reply.tool_call("Bash", {"command": "touch canary.txt", "description": "canary"},
                        call_id="toolu_2"),
        Reply.text("Done."),
    )
    deny = ["touch canary.txt"] if at_gateway else []
    url = gateway.route("coder", "claude-code", base_url=standin.url, deny=deny)
    h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path), state_dir=tmp_path / "state")
    result = await h.send("make the canary", timeout=120)
    assert (workdir / "control.txt").exists(), result
    if at_gateway:
        assert not (workdir / "canary.txt").exists(), result
        assert "fence entry `touch canary.txt`" in result.reply, result
        assert gateway.counts("coder")["refused"] == 1
    else:
        assert (workdir / "canary.txt").exists(), result


@pytest.mark.slow
async def test_claude_429_on_primary_is_answered_by_the_fallback(
    gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    with StandinServer() as primary, StandinServer() as fallback:
        primary.script(Reply.error(429, "slow down", retry_after=60))
        fallback.script(Reply.text("From the fallback."))
        url = gateway.route(
            "coder", "claude-code", base_url=primary.url, model="claude-primary",
            profile="primary", provider="anthropic",
            fallbacks=[{"base_url": fallback.url, "model": "claude-fallback",
                        "profile": "backup", "provider": "anthropic"}],
        )
        h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path),
                              state_dir=tmp_path / "state")
        result = await h.send("hello", timeout=120)
        assert result.reply == "From the fallback.", result
        assert len(primary.calls("anthropic")) == 1
        assert fallback.calls("anthropic")[0].body["model"] == "claude-fallback"
        assert gateway.counts("coder")["fallbacks"] == 1


@pytest.mark.slow
async def test_claude_strict_choice_fails_visibly(
    gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.errors import ProviderError
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    with StandinServer() as primary, StandinServer() as fallback:
        primary.set_default(lambda _r: Reply.error(429, "picked model is rate limited"))
        url = gateway.route(
            "coder", "claude-code", base_url=primary.url, model="claude-picked", strict=True,
            fallbacks=[{"base_url": fallback.url, "model": "claude-fallback"}],
        )
        h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path),
                              state_dir=tmp_path / "state")
        with pytest.raises(ProviderError) as err:
            await h.send("hello", timeout=120)
        assert err.value.kind == "rate-limit", err.value
        assert fallback.calls() == []
        assert primary.calls("anthropic")


@pytest.mark.slow
async def test_codex_secret_redacted_usage_counted_and_denied_exec_refused(
    standin: StandinServer, gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.harnesses.codex.harness import CodexHarness

    workdir = _workdir(tmp_path)
    control = 'await tools.exec_command({cmd: "touch control.txt"});'
    canary = 'await tools.exec_command({cmd: "touch canary.txt"});'
    standin.script(
        Reply.tool_call("exec", control),
        Reply.tool_call("exec", canary, call_id="call_2"),
        Reply.text("Done.", input_tokens=999, output_tokens=11),
        dialect="responses",
    )
    url = gateway.route("coder", "codex", base_url=standin.openai_base_url,
                        deny=["touch canary.txt"])
    spec = _codex_spec(url, workdir, tmp_path)
    h = CodexHarness(spec, provider_options={"request_max_retries": 0, "stream_max_retries": 0})
    result = await h.send(f"use {SECRET} and make the canary", timeout=120)
    assert (workdir / "control.txt").exists(), result.extra
    assert not (workdir / "canary.txt").exists(), result.extra
    assert SECRET.encode() not in _all_raw(standin)
    assert b"[REDACTED:" in standin.calls("responses")[0].raw
    counts = gateway.counts("coder")
    assert counts["refused"] == 1
    assert counts["requests"] >= 2
