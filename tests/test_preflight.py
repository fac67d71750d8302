"""Preflight: every check passing and failing on small configs; live probes against stand-ins."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from laneboard.cli import cli
from laneboard.config import LoadedConfig, load_config
from laneboard.lanes.preflight import (
    Check,
    Report,
    auth,
    check_models,
    check_ollama_loopback,
    check_policy,
    is_loopback_url,
    probes,
    run_preflight_async,
    static_checks,
)
from laneboard.standins import StandinServer

GOOD = """\
version: 1
providers:
  openai-codex: {harness: codex}
  anthropic: {harness: claude-code, api_key_env: LB_TEST_ANTHROPIC_KEY}
  ollama: {harness: ollama, base_url: "OLLAMA_URL"}
models:
  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}
  openai-codex/gpt-5.3-codex: {tier: orchestrator}
  anthropic/claude-opus-4-5: {alias: opus, tier: escalation}
  ollama/qwen3:7b: {alias: triage, tier: local}
  ollama/qwen3-embedding:8b: {alias: embed, tier: local, kind: embedding}
defaults:
  provider: openai-codex
  model: {primary: gpt55, fallbacks: [openai-codex/gpt-5.3-codex]}
lanes:
  main: {role: orchestrator, harness: codex, fence: workspace-write, input: untrusted}
  review: {role: reviewer, harness: claude-code, model: opus, fallbacks: [], fence: plan}
  triage: {role: helper, harness: ollama, model: triage, fence: read-only}
routing: {default: main, untrusted: main}
artifacts: {dir: arts, embed_model: embed}
"""

OLLAMA_ONLY = """\
version: 1
providers:
  ollama: {harness: ollama, base_url: "OLLAMA_URL"}
models:
  ollama/qwen3:7b: {alias: triage, tier: local}
  ollama/qwen3-embedding:8b: {alias: embed, tier: local, kind: embedding}
lanes:
  triage: {role: helper, harness: ollama, model: triage}
artifacts: {dir: arts, embed_model: embed}
"""


def write(tmp_path: Path, text: str, url: str = "http://127.0.0.1:11434") -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text.replace("OLLAMA_URL", url))
    return p


def loaded(tmp_path: Path, text: str = GOOD, url: str = "http://127.0.0.1:11434") -> LoadedConfig:
    return load_config(write(tmp_path, text, url))


def statuses(checks: list[Check], check_id: str) -> set[str]:
    return {c.status for c in checks if c.id == check_id}


def only(checks: list[Check], check_id: str, status: str) -> list[Check]:
    found = [c for c in checks if c.id == check_id and c.status == status]
    assert found, f"no {status} {check_id} in {checks}"
    for c in found:
        if status in ("warn", "fail"):
            assert c.fix, f"{c} has no fix"
    return found


# ---------------------------------------------------------------- static checks


def test_good_config_passes_every_static_check(tmp_path: Path) -> None:
    checks = static_checks(loaded(tmp_path))
    assert {c.status for c in checks} == {"ok"}, [c for c in checks if c.status != "ok"]
    assert {c.id for c in checks} == {
        "models.resolve",
        "models.allowed",
        "models.aliases",
        "fallback.provider",
        "policy.cheap-writable",
        "policy.untrusted-tier",
        "policy.escalation-trivial",
        "policy.review-readonly",
        "ollama.loopback",
        "policy.gateway",  # the ChatGPT-login Codex lane `main` stays direct (#14)
    }
    main = next(c for c in checks if c.id == "models.resolve" and c.subject == "lane main")
    assert "gpt55 → openai-codex/gpt-5.5" in main.message and "gpt-5.3-codex" in main.message


def test_models_resolve_fails_with_location(tmp_path: Path) -> None:
    text = GOOD.replace("model: triage, fence", "model: /nope, fence")
    (c,) = only(check_models(loaded(tmp_path, text)), "models.resolve", "fail")
    assert c.subject == "lane triage" and "config.yaml:" in c.message


def test_models_allowed_fails(tmp_path: Path) -> None:
    text = GOOD.replace(
        "fallbacks: [], fence: plan", "fallbacks: [anthropic/claude-sonnet-9], fence: plan"
    )
    (c,) = only(check_models(loaded(tmp_path, text)), "models.allowed", "fail")
    assert "Model is not allowed: anthropic/claude-sonnet-9" in c.message
    assert c.subject == "lane review"


def test_models_aliases_shadowing_fails(tmp_path: Path) -> None:
    text = GOOD.replace("{alias: triage, tier: local}", "{alias: qwen3-embedding:8b, tier: local}")
    text = text.replace("model: triage", "model: ollama/qwen3:7b")
    (c,) = only(check_models(loaded(tmp_path, text)), "models.aliases", "fail")
    assert "shadows" in c.message


def test_fallback_provider_fails(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  ollama/qwen3:7b:", "  openrouter/kimi-k2: {tier: orchestrator}\n  ollama/qwen3:7b:"
    ).replace("fallbacks: [openai-codex/gpt-5.3-codex]}", "fallbacks: [openrouter/kimi-k2]}")
    (c,) = only(check_models(loaded(tmp_path, text)), "fallback.provider", "fail")
    assert "'openrouter'" in c.message and c.subject == "defaults.model"


def test_cheap_writable_fails_directly_and_through_a_fallback(tmp_path: Path) -> None:
    direct = GOOD.replace(
        "model: triage, fence: read-only", "model: triage, fence: workspace-write"
    )
    (c,) = only(check_policy(loaded(tmp_path, direct).config), "policy.cheap-writable", "fail")
    assert c.subject == "lane triage" and "fallback" not in c.message
    via_fb = GOOD.replace("fallbacks: [openai-codex/gpt-5.3-codex]}", "fallbacks: [triage]}")
    fails = only(check_policy(loaded(tmp_path, via_fb).config), "policy.cheap-writable", "fail")
    assert any("through a fallback" in c.message for c in fails)


def test_untrusted_tier_fails_for_any_fallback_and_routing_target(tmp_path: Path) -> None:
    text = GOOD.replace("fallbacks: [openai-codex/gpt-5.3-codex]}", "fallbacks: [triage]}")
    fails = only(check_policy(loaded(tmp_path, text).config), "policy.untrusted-tier", "fail")
    assert fails[0].subject == "lane main" and "fallback" in fails[0].message
    # a lane untrusted input is routed to counts as taking it
    routed = GOOD.replace("untrusted: main}", "untrusted: triage}")
    (c,) = only(check_policy(loaded(tmp_path, routed).config), "policy.untrusted-tier", "fail")
    assert c.subject == "lane triage"


def test_escalation_trivial_warns(tmp_path: Path) -> None:
    text = GOOD.replace("model: triage, fence", "model: opus, fence")
    (c,) = only(check_policy(loaded(tmp_path, text).config), "policy.escalation-trivial", "warn")
    assert c.subject == "lane triage" and "slow leak" in c.message
    default = GOOD.replace("routing: {default: main", "routing: {default: review")
    (c,) = only(check_policy(loaded(tmp_path, default).config), "policy.escalation-trivial", "warn")
    assert c.subject == "lane review"


def test_review_readonly_fails(tmp_path: Path) -> None:
    text = GOOD.replace("fallbacks: [], fence: plan", "fallbacks: [], fence: full")
    (c,) = only(check_policy(loaded(tmp_path, text).config), "policy.review-readonly", "fail")
    assert c.subject == "lane review"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://localhost:11434", True),
        ("http://[::1]:11434", True),
        ("http://127.8.9.10", True),
        ("http://0.0.0.0:11434", False),
        ("http://192.168.1.20:11434", False),
        ("https://ollama.example.com", False),
    ],
)
def test_ollama_loopback_from_the_url_alone(tmp_path: Path, url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
    checks = check_ollama_loopback(loaded(tmp_path, GOOD, url).config)
    assert statuses(checks, "ollama.loopback") == {"ok" if loopback else "warn"}


def test_wildcard_listeners_from_proc(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(
        "  sl  local_address rem_address   st\n"
        "   0: 00000000:2CAA 00000000:0000 0A 0\n"  # 0.0.0.0:11434 LISTEN
        "   1: 0100007F:1F90 00000000:0000 0A 0\n"  # 127.0.0.1:8080 LISTEN
    )
    assert probes.wildcard_listeners(11434, tmp_path) == ["0.0.0.0"]
    assert probes.wildcard_listeners(8080, tmp_path) == []
    assert probes.wildcard_listeners(1, tmp_path / "none") is None


# ---------------------------------------------------------------- live: Ollama stand-in


async def _live(lc: LoadedConfig, tmp_path: Path, env: dict[str, str] | None = None) -> list[Check]:
    environ = env if env is not None else {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return await probes.live_checks(lc, offline=False, environ=environ, cwd=tmp_path)


async def test_ollama_reachable_and_models_pulled(tmp_path: Path, standin: StandinServer) -> None:
    standin.models = ["qwen3:7b", "qwen3-embedding:8b"]
    checks = await _live(loaded(tmp_path, OLLAMA_ONLY, standin.url), tmp_path)
    (reach,) = only(checks, "ollama.reachable", "ok")
    assert reach.message.startswith("Ollama ") and reach.subject == standin.url
    (models,) = only(checks, "ollama.models", "ok")
    assert "qwen3-embedding:8b" in models.message


async def test_ollama_missing_model_fails(tmp_path: Path, standin: StandinServer) -> None:
    standin.models = ["qwen3:7b"]  # the embedding model is not pulled
    checks = await _live(loaded(tmp_path, OLLAMA_ONLY, standin.url), tmp_path)
    only(checks, "ollama.reachable", "ok")
    (c,) = only(checks, "ollama.models", "fail")
    assert c.subject == "qwen3-embedding:8b" and c.fix == "ollama pull qwen3-embedding:8b"


async def test_ollama_unreachable_fails_fast(tmp_path: Path, unreachable_url: str) -> None:
    started = time.monotonic()
    checks = await _live(loaded(tmp_path, OLLAMA_ONLY, unreachable_url), tmp_path)
    assert time.monotonic() - started < 3.0
    (c,) = only(checks, "ollama.reachable", "fail")
    assert "did not answer" in c.message
    assert statuses(checks, "ollama.models") == {"skip"}


async def test_offline_skips_everything_that_reaches_out(
    tmp_path: Path, standin: StandinServer
) -> None:
    lc = loaded(tmp_path, GOOD, standin.url)
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path)}
    checks = await probes.live_checks(lc, offline=True, environ=env, cwd=tmp_path)
    for cid in (
        "tmux.available",
        "cli.installed",
        "ollama.reachable",
        "ollama.models",
        "tmux.review-session",
    ):
        assert statuses(checks, cid) == {"skip"}, cid
    assert standin.requests == []
    assert statuses(checks, "artifacts.writable") == {"ok"}
    # a missing key is still visible offline: reading the environment reaches nothing
    assert "fail" in statuses(checks, "auth.present")


# ---------------------------------------------------------------- live: processes


def fake_bin(tmp_path: Path, name: str, body: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bindir


def jwt(exp: float) -> str:
    def part(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp)})}.sig"


CODEX = """\
case "$1 $2" in
  "--version "*) echo "codex-cli 9.9.9" ;;
  "login status") if [ -f "$HOME/.codex/auth.json" ]; then echo "Logged in using ChatGPT"; \
else echo "Not logged in"; exit 1; fi ;;
esac
"""


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (None, "fail"),
        ({"OPENAI_API_KEY": "sk-test"}, "ok"),
        ({"tokens": {"access_token": jwt(time.time() + 10 * 86400)}}, "ok"),
        ({"tokens": {"access_token": jwt(time.time() + 3600)}}, "warn"),
        ({"tokens": {"access_token": jwt(time.time() - 60)}}, "fail"),
    ],
)
async def test_codex_cli_and_login(
    tmp_path: Path, auth: dict[str, object] | None, status: str
) -> None:
    bindir = fake_bin(tmp_path, "codex", CODEX)
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    if auth is not None:
        (home / ".codex" / "auth.json").write_text(json.dumps(auth))
    text = (
        GOOD.replace("  review:", "  review-x:").split("  review-x:")[0]
        + "artifacts: {dir: arts}\n"
    )
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(home)}
    checks = await _live(loaded(tmp_path, text), tmp_path, env)
    (cli_ok,) = only(checks, "cli.installed", "ok")
    assert cli_ok.message == "codex-cli 9.9.9"
    only(checks, "auth.present", status)


async def test_missing_clis_and_tmux_fail(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    checks = await _live(loaded(tmp_path), tmp_path, env)
    fails = only(checks, "cli.installed", "fail")
    assert {c.subject for c in fails} == {"codex", "claude"}
    assert any("npm install" in c.fix for c in fails)
    only(checks, "tmux.available", "fail")  # interactive lanes need it


@pytest.mark.parametrize(
    ("expires_in_s", "status"),
    [(None, "fail"), (5 * 86400, "ok"), (600, "warn"), (-600, "fail")],
)
def test_claude_login(tmp_path: Path, expires_in_s: float | None, status: str) -> None:
    """The expiry is set relative to *now*, inside the test: computed at collection, a
    token meant to expire in 10 minutes had expired by the time a 15-minute run got here."""
    now = time.time()
    if expires_in_s is not None:
        creds = {"claudeAiOauth": {"accessToken": "t", "expiresAt": (now + expires_in_s) * 1000}}
        (tmp_path / ".claude").mkdir()
        (tmp_path / ".claude" / ".credentials.json").write_text(json.dumps(creds))
    c = auth.claude_auth("anthropic", {"HOME": str(tmp_path)}, now)
    assert c.status == status
    if status != "ok":
        assert c.fix


async def test_api_key_env(tmp_path: Path) -> None:
    lc = loaded(tmp_path)
    need = next(n for n in auth.auth_needs(lc, {}) if n.provider == "anthropic")
    assert need.key_env == "LB_TEST_ANTHROPIC_KEY"
    ok = await auth.probe_auth(need, {"LB_TEST_ANTHROPIC_KEY": "x", "HOME": str(tmp_path)}, False)
    assert ok.status == "ok"
    missing = await auth.probe_auth(need, {"HOME": str(tmp_path)}, False)
    assert missing.status == "fail"  # no key and no Claude login in that HOME


def test_tmux_review_session(tmp_path: Path, tmux_socket: str) -> None:
    work = tmp_path / "proj.x"
    work.mkdir()
    lc = loaded(tmp_path)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANEBOARD_TMUX_SOCKET": tmux_socket}
    _, session = probes.review_session(lc, env, work)
    assert session == "lb-proj-x"

    def probe() -> Check:
        return asyncio.run(probes.probe_review_session(lc, env, work))

    assert probe().status == "skip"  # no server: laneboard is not running
    tmux = ["tmux", "-L", tmux_socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-n", "_laneboard"], check=True)
    failed = probe()
    assert failed.status == "fail" and "missing" in failed.message and failed.fix
    out = subprocess.run(
        [
            *tmux,
            "new-window",
            "-d",
            "-P",
            "-F",
            "#{window_id}",
            "-t",
            f"={session}:",
            "-n",
            "review",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(
        [*tmux, "set-option", "-w", "-t", out.stdout.strip(), "@laneboard_lane", "review"],
        check=True,
    )
    assert probe().status == "ok"


def test_artifacts_writable(tmp_path: Path) -> None:
    lc = loaded(tmp_path)
    (tmp_path / "arts").mkdir()
    c = probes.check_artifacts_writable(lc, tmp_path)
    assert c.status == "ok" and list((tmp_path / "arts").iterdir()) == []  # nothing left behind
    (tmp_path / "arts").rmdir()
    assert "will be created" in probes.check_artifacts_writable(lc, tmp_path).message
    (tmp_path / "arts").write_text("")
    c = probes.check_artifacts_writable(lc, tmp_path)
    assert c.status == "fail" and c.fix


def test_artifacts_not_writable(tmp_path: Path) -> None:
    """Root writes through any mode bits, so the folder is made unwritable for everyone:
    the probe runs in a real bubblewrap sandbox where the whole filesystem is read-only."""
    (tmp_path / "arts").mkdir()
    lc = loaded(tmp_path)
    code = (
        "import sys; from pathlib import Path; from laneboard.config import load_config; "
        "from laneboard.lanes.preflight import probes; "
        "print(probes.check_artifacts_writable(load_config(sys.argv[2]), Path(sys.argv[1])).status)"
    )
    done = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--",
         sys.executable, "-c", code, str(tmp_path), lc.path],
        capture_output=True, text=True, timeout=60,
    )
    assert done.stdout.strip() == "fail", done.stderr
    # and the same probe outside the sandbox passes: the sandbox made the difference
    assert probes.check_artifacts_writable(lc, tmp_path).status == "ok"


# ---------------------------------------------------------------- report and CLI


def test_exit_codes() -> None:
    ok, warn, fail = (Check("x", s, "s", "m", "f") for s in ("ok", "warn", "fail"))  # type: ignore[arg-type]
    assert Report([ok]).exit_code(True) == 0
    assert Report([ok, warn]).exit_code(True) == 2
    assert Report([ok, warn, fail]).exit_code(True) == 1
    assert Report([ok, warn, fail]).exit_code(False) == 0
    assert Report([fail], config_error=True).exit_code(False) == 2


async def test_full_run_groups_in_order(tmp_path: Path, standin: StandinServer) -> None:
    standin.models = ["qwen3:7b", "qwen3-embedding:8b"]
    path = write(tmp_path, OLLAMA_ONLY, standin.url)
    report = await run_preflight_async(
        str(path), cwd=tmp_path, environ={"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    )
    groups = [c.group for c in report.ordered()]
    assert groups == sorted(groups, key=["config", "models", "policy", "environment"].index)
    assert report.exit_code(True) == 0, [c for c in report.checks if c.status != "ok"]


def test_cli_json_is_one_document_and_check_exit(tmp_path: Path, standin: StandinServer) -> None:
    standin.models = ["qwen3:7b"]
    path = write(tmp_path, OLLAMA_ONLY, standin.url)
    r = CliRunner().invoke(cli, ["preflight", "--config", str(path), "--json", "--check"])
    doc = json.loads(r.output)  # the whole stdout is one document
    assert set(doc) == {"checks", "summary"}
    assert r.exit_code == 1 and doc["summary"]["fail"] >= 1
    assert all(set(c) == {"id", "status", "subject", "message", "fix"} for c in doc["checks"])
    missing = [c for c in doc["checks"] if c["id"] == "ollama.models" and c["status"] == "fail"]
    assert missing and missing[0]["fix"] == "ollama pull qwen3-embedding:8b"


def test_cli_table_has_a_fix_for_every_problem(tmp_path: Path) -> None:
    text = GOOD.replace("fallbacks: [], fence: plan", "fallbacks: [], fence: full")
    r = CliRunner().invoke(
        cli,
        ["preflight", "--config", str(write(tmp_path, text)), "--offline"],
        env={"COLUMNS": "200"},
    )
    assert r.exit_code == 0
    assert (
        "policy.review-readonly" in r.output and "fix: set `lanes.review.fence: plan`" in r.output
    )
    assert "POLICY" in r.output


def test_cli_warnings_only_exit_2(tmp_path: Path) -> None:
    text = OLLAMA_ONLY.replace("triage: {role: helper", "triage: {role: helper, fence: read-only")
    path = write(tmp_path, text, "http://10.0.0.9:11434")
    r = CliRunner().invoke(
        cli, ["preflight", "--config", str(path), "--offline", "--check", "--json"]
    )
    doc = json.loads(r.output)
    assert doc["summary"]["fail"] == 0 and doc["summary"]["warn"] == 1, doc
    assert r.exit_code == 2


def run_laneboard(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, exactly as the `laneboard` console script runs it."""
    code = "import sys; from laneboard.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_cli_config_error_exits_2_with_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("fence: plan}", "fence: plan, fense: x}"))
    r = run_laneboard("preflight", "--config", str(path), "--offline")
    assert r.returncode == 2
    assert f"{path}:{GOOD.count(chr(10), 0, GOOD.index('fence: plan}')) + 1}:" in r.stdout
    assert "unknown key 'fense'" in r.stdout and "did you mean 'fence'" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    r = run_laneboard("preflight", "--config", str(path), "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 2 and doc["checks"][0]["id"] == "config.load"
    assert doc["checks"][0]["status"] == "fail"


def test_cli_models_commands(tmp_path: Path) -> None:
    path = str(write(tmp_path, GOOD))
    runner = CliRunner()
    r = runner.invoke(cli, ["models", "list", "--config", path, "--json"])
    keys = [m["key"] for m in json.loads(r.output)["models"]]
    assert "ollama/qwen3-embedding:8b" in keys and r.exit_code == 0
    r = runner.invoke(cli, ["models", "resolve", "triage", "--config", path, "--json"])
    assert json.loads(r.output) == {
        "input": "triage",
        "provider": "ollama",
        "model": "qwen3:7b",
        "key": "ollama/qwen3:7b",
        "via": "alias",
        "alias": "triage",
        "allowed": True,
        "error": None,
    }
    r = runner.invoke(cli, ["models", "resolve", "ollama/llama9", "--config", path, "--json"])
    assert (
        r.exit_code == 1 and json.loads(r.output)["error"] == "Model is not allowed: ollama/llama9"
    )
    r = runner.invoke(cli, ["models", "resolve", "ollama/llama9", "--config", path])
    assert "Model is not allowed: ollama/llama9" in r.output
    r = runner.invoke(cli, ["models", "chain", "main", "--config", path, "--json"])
    doc = json.loads(r.output)
    assert [c["key"] for c in doc["candidates"]] == [
        "openai-codex/gpt-5.5",
        "openai-codex/gpt-5.3-codex",
    ]
    assert doc["strict"] is False
    r = runner.invoke(cli, ["models", "chain", "opus", "--config", path, "--json"])
    doc = json.loads(r.output)
    assert doc["strict"] is True and [c["key"] for c in doc["candidates"]] == [
        "anthropic/claude-opus-4-5"
    ]
    r = runner.invoke(cli, ["models", "chain", "main", "--config", path])
    assert r.exit_code == 0 and "gpt-5.3-codex" in r.output


async def test_blackholed_endpoint_is_bounded_by_the_connect_timeout(tmp_path: Path) -> None:
    """A host that drops SYNs (a saturated accept queue here) costs one short timeout."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fillers.append(s)
    try:
        lc = loaded(tmp_path, OLLAMA_ONLY, f"http://127.0.0.1:{port}")
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        started = time.monotonic()
        checks = await probes.live_checks(
            lc, offline=False, environ=env, cwd=tmp_path, http_timeout=0.3
        )
        assert time.monotonic() - started < 2.0
        (c,) = only(checks, "ollama.reachable", "fail")
        assert "Timeout" in c.message
    finally:
        for s in [*fillers, server]:
            s.close()


def test_command_modules_import_lazily() -> None:
    code = (
        "import sys, laneboard.commands.models, laneboard.commands.preflight;"
        "print(sorted(m for m in ('pydantic', 'httpx', 'rich', 'json5') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
